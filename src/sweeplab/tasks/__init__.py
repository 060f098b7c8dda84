"""Tasks: each module has `run(cfg, job) -> summary dict` (and its OBJECTIVE), chosen by `task=`.

A training task subclasses sweeplab.loop.Task (its data, step and evaluation) and hands it to
`loop.record`; docs/EXTENDING.md walks through adding one.
"""

#: task name -> its module, imported only when chosen (torch is not imported for `sweeplab --help`)
TASKS = {
    "palindrome": "sweeplab.tasks.palindrome",
    "gan": "sweeplab.tasks.gan",
    "interpolate": "sweeplab.tasks.interpolate",
}
