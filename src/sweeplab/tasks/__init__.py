"""Tasks: one folder each (`tasks/NAME/`), chosen by `task=NAME`.

A folder holds everything about its task: `spec.py` (torch-free: what sweeplab.contract's registry
and the report read), its data, its training (a sweeplab.loop.Task handed to `loop.record`), its
validation and its memory estimate. docs/EXTENDING.md walks through adding one.
"""
