"""The one reader of a sweep dir's layout, shared by `sweeplab-status` and `multirun_analysis`
(torch-free): which sweeper ran and what it swept (multirun.yaml), the jobs a grid sweep plans (Hydra's
basic sweeper's product), which dirs are jobs', and the states a job without a finished run is in.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sweeplab.contract import HYDRA_CONFIG, METRICS_FILE, SUMMARY_FILE, SWEEP_CONFIG

HYDRA_DIR = Path(HYDRA_CONFIG).parent.name  # ".hydra"
#: sweepers that launch the whole Cartesian grid of their params (the others decide as they go)
GRID_SWEEPERS = (
    "hydra._internal.core_plugins.basic_sweeper.BasicSweeper",
    "hydra_plugins.sweeplab_sweeper.sweeper.SweeplabSweeper",
)
#: planned (by the grid or the adaptive sweeper's record) and not started: no summary.json yet
PENDING = "pending"
#: a job dir without summary.json (nor error.txt) that the analysis cannot tell from a killed start
MISSING = "missing"
#: a summary.json that cannot be read (torn, edited)
CORRUPT = "corrupt"


@dataclass
class SweepRecord:
    """What a sweep's multirun.yaml says: its sweeper, the params it sweeps, the command line's overrides."""

    sweeper: str = ""  # the sweeper's class name ("BasicSweeper"), "" without a record
    params: dict[str, str] = field(default_factory=dict)  # hydra.sweeper.params
    task_overrides: list[str] = field(default_factory=list)  # the command line's overrides
    settings: dict[str, Any] = field(default_factory=dict)  # hydra.sweeper's other keys (t_min, ...)
    problem: str | None = None  # why the record could not be read (None: read, or no file)
    found: bool = False  # the sweep dir has a readable multirun.yaml

    @property
    def grid(self) -> bool:
        """Whether its jobs are the Cartesian product of its params (a grid sweeper, or none recorded)."""
        return not self.sweeper or self.sweeper in {g.rsplit(".", 1)[-1] for g in GRID_SWEEPERS}

    def planned_jobs(self) -> list[list[str]] | None:
        """The overrides of every job the grid plans, in Hydra's order; None for an adaptive sweeper or
        values that cannot be expanded here (an interval, a glob)."""
        if not self.found or not self.grid:
            return None
        return expand_grid([f"{k}={v}" for k, v in self.params.items()] + self.task_overrides)


def _load_yaml(path: Path) -> tuple[Any, str | None]:
    try:
        if not path.is_file():
            return None, None
        return yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)), None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        return None, f"{path.parent.name}/{path.name} unreadable ({type(exc).__name__})"


def read_record(sweep_dir: Path, load=_load_yaml) -> SweepRecord:
    """The sweep's multirun.yaml (an empty record when there is none or it cannot be read). `load(path)
    -> (data, problem)` reads the YAML (multirun_analysis passes its bounded reader for untrusted dirs)."""
    data, problem = load(Path(sweep_dir) / SWEEP_CONFIG)
    hydra = data.get("hydra") if isinstance(data, dict) else None
    if not isinstance(hydra, dict):
        return SweepRecord(problem=problem)
    overrides = hydra.get("overrides") if isinstance(hydra.get("overrides"), dict) else {}
    sweeper = hydra.get("sweeper") if isinstance(hydra.get("sweeper"), dict) else {}
    params = sweeper.get("params")
    return SweepRecord(
        sweeper=str(sweeper.get("_target_") or "").rsplit(".", 1)[-1],
        params={str(k): str(v) for k, v in params.items()} if isinstance(params, dict) else {},
        task_overrides=[str(o) for o in overrides.get("task") or []],
        settings={str(k): v for k, v in sweeper.items() if k not in ("_target_", "params")},
        found=True,
    )


@functools.cache
def _parser():
    from hydra.core.override_parser.overrides_parser import OverridesParser

    return OverridesParser.create()


def expand_grid(overrides: list[str]) -> list[list[str]] | None:
    """The jobs of a grid sweep, in Hydra's order (its basic sweeper's product), or None if unparsable.

    `overrides` are the sweeper params followed by the command-line task overrides; a later
    override of a key replaces an earlier one, as in Hydra's BasicSweeper.split_arguments.
    """
    try:
        parsed = _parser().parse_overrides([str(o) for o in overrides])
    except Exception:  # noqa: BLE001 -- Hydra's parser raises several kinds; any means "cannot say"
        return None
    per_key: dict[str, list[str]] = {}
    for override in parsed:
        key = override.get_key_element()
        if override.is_sweep_override():
            try:
                per_key[key] = [f"{key}={value}" for value in override.sweep_string_iterator()]
            except Exception:  # noqa: BLE001 -- interval sweeps have no finite list of jobs
                return None
        else:
            per_key[key] = [f"{key}={override.get_value_element_as_str()}"]
    jobs: list[list[str]] = [[]]
    for choices in per_key.values():
        jobs = [[*job, choice] for job in jobs for choice in choices]
    return jobs


def job_dirs(sweep_dir: Path, depth: int = 1) -> tuple[list[Path], list[tuple[Path, str]]]:
    """(the job dirs of a sweep in natural order, [(dir, why)] of those that could not be read).

    A job dir holds `.hydra/`, summary.json or metrics.csv, or is a child named by a number (Hydra
    made it, nothing is written yet). Up to `depth` levels are searched (a sweep's subdir may nest:
    hydra.sweep.subdir=${model}/${seed}); hidden dirs such as submitit's .submitit/ are not.
    """
    sweep_dir = Path(sweep_dir)
    found, unreadable = [], []
    for root, dirs, _files in os.walk(sweep_dir, onerror=lambda exc: None):
        here = Path(root)
        level = len(here.relative_to(sweep_dir).parts)
        keep = []
        for name in sorted(d for d in dirs if not d.startswith(".")):
            child = here / name
            try:
                names = set(os.listdir(child))  # raises for a dir without read permission
            except OSError as exc:
                unreadable.append((child, f"unreadable ({exc.strerror or type(exc).__name__})"))
                continue
            if names & {HYDRA_DIR, SUMMARY_FILE, METRICS_FILE} or (level == 0 and name.isdigit()):
                found.append(child)
            elif level + 1 < depth:
                keep.append(name)
        dirs[:] = keep
    return sorted(found, key=lambda p: natural_key(str(p.relative_to(sweep_dir)))), unreadable


def job_num(path: Path) -> int | None:
    """The job's number from its dir name (Hydra's default subdir), None for another name."""
    return int(path.name) if path.name.isdigit() else None


def natural_key(name: str) -> list:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]
