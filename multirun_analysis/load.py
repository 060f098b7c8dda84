"""Kept for callers of the old module (tests/scaleout): the loading now lives in discover, read and runs."""

from .discover import NoSweepsFound, find_sweeps
from .runs import SweepData, load_sweeps

__all__ = ["NoSweepsFound", "SweepData", "find_sweeps", "load_sweeps"]
