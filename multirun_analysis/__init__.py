"""Turn Hydra sweeps of sweeplab runs into an answer with its uncertainty: tables, figures, a report.

Reads the files each run writes (docs/ARTIFACTS.md, sweeplab.contract) and never imports the
training code or torch.

    multirun-analysis multirun/2024-05-01/12-00-00-000000
    multirun-analysis diff BASE_SWEEP NEW_SWEEP --out compare/
"""

from .discover import NoSweepsFound, find_sweeps
from .pipeline import DEFAULT_THRESHOLD, Analysis, OutputError, analyze
from .runs import SweepData, load_sweeps
from .stats import T50Estimate, fit_t50, wilson_interval

__all__ = [
    "DEFAULT_THRESHOLD", "Analysis", "NoSweepsFound", "OutputError", "SweepData", "T50Estimate",
    "analyze", "find_sweeps", "fit_t50", "load_sweeps", "wilson_interval",
]  # fmt: skip
