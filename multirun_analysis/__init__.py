"""Aggregate a Hydra sweep of sweeplab runs into comparison tables, plots and a report.

Reads the files each run writes (docs/ARTIFACTS.md) and never imports the training code.

    multirun-analysis multirun/2024-05-01/12-00-00-000000
    python -m multirun_analysis multirun/ --out analysis/
"""

from .load import NoSweepsFound, SweepData, find_sweeps, load_sweeps
from .pipeline import DEFAULT_THRESHOLD, Analysis, analyze, compute

__all__ = [
    "DEFAULT_THRESHOLD", "Analysis", "NoSweepsFound", "SweepData",
    "analyze", "compute", "find_sweeps", "load_sweeps",
]
