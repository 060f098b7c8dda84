"""Which dirs a run or a sweep may write into: checked before Hydra creates anything (no torch import).

A run writes its files (summary.json, checkpoint.pt, .hydra/, .lock ...) straight into its dir, so
the dir must be its own: not the file system's root, the current dir, a home dir or a dir that
holds one of them, not empty (Hydra would take the current dir). A single run and a sweep never
share a dir, neither lies inside another run's dir, and a sweep's job dirs lie inside its sweep dir.
"""

from __future__ import annotations

import os
from pathlib import Path

from sweeplab.contract import CHECKPOINT_FILE, SEARCH_FILE, SUMMARY_FILE, SWEEP_CONFIG
from sweeplab.errors import UsageError

RUN_DIR, SWEEP_DIR = "hydra.run.dir", "hydra.sweep.dir"
_EXAMPLE = {RUN_DIR: "runs/NAME", SWEEP_DIR: "sweeps/NAME"}


def holds_run(path: Path) -> bool:
    """A single run's (or a sweep job's) dir: what the runner writes first and last."""
    return (path / SUMMARY_FILE).exists() or (path / CHECKPOINT_FILE).exists()


def holds_sweep(path: Path) -> bool:
    return (path / SWEEP_CONFIG).exists() or (path / SEARCH_FILE).exists()


def check_output_dir(key: str, value: object) -> Path:
    """The dir `key` (hydra.run.dir or hydra.sweep.dir) names, or a UsageError saying why it cannot be one."""
    text = "" if value is None else str(value)
    own = f"give it a dir of its own, such as {key}={_EXAMPLE[key]}"
    if not text.strip():
        raise UsageError(f"{key} is empty, which means the current dir; {own}")
    path = Path(os.path.abspath(text))
    if path.is_symlink() and not path.exists():  # mkdir would only say "File exists"
        raise UsageError(
            f"{key}={text} is a symlink to {os.readlink(path)}, which does not exist; create that dir, or {own}"
        )
    real = _real(path)
    shared = {
        Path("/"): "the file system's root",
        _real(Path.cwd()): "the current dir",
        _real(Path.home()): "the home dir",
    }
    for place, name in shared.items():
        if real == place or real in place.parents:  # `..` of the current dir scatters files just as well
            where = "is" if real == place else "holds"
            raise UsageError(f"{key}={text} {where} {name}, where a run would scatter its files; {own}")
    if key == RUN_DIR and holds_sweep(real):
        raise UsageError(f"{key}={text} holds a sweep ({SWEEP_CONFIG}), and a single run cannot share it; {own}")
    if key == SWEEP_DIR and holds_run(real):
        raise UsageError(f"{key}={text} holds a single run ({SUMMARY_FILE}), and a sweep cannot share it; {own}")
    for parent in real.parents:
        if parent in (Path("/"), _real(Path.home())):  # files a run once scattered there must not block every run
            continue
        if holds_run(parent):
            raise UsageError(f"{key}={text} lies inside the run in {parent}; {own}")
        if key == SWEEP_DIR and holds_sweep(parent):
            raise UsageError(f"{key}={text} lies inside the sweep in {parent}; {own}")
    return path


def check_job_dir(job_dir: Path, sweep_dir: Path, num: int) -> None:
    """A sweep's job writes inside its sweep dir, in a dir of its own (hydra.sweep.subdir)."""
    job, sweep = _real(Path(os.path.abspath(job_dir))), _real(Path(os.path.abspath(sweep_dir)))
    if sweep not in job.parents:
        raise UsageError(
            f"hydra.sweep.subdir puts job {num} in {job_dir}, outside its sweep dir {sweep_dir}; "
            "a job's dir must lie inside the sweep dir, such as hydra.sweep.subdir=${hydra.job.num}"
        )


def _real(path: Path) -> Path:
    """`path` with its symlinks resolved (as far as it exists)."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a symlink loop: compared as written
        return path
