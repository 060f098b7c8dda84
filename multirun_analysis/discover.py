"""Find what to analyse: sweep dirs under the given paths, and the job dirs of each.

A *sweep dir* holds Hydra's multirun.yaml, or job dirs (each with a `.hydra/` folder). A dir of job
dirs without multirun.yaml whose jobs were single runs (`sweeplab ...` without -m: Hydra records
`mode: RUN`, the dirs are named by time) is a *collection of single runs*, reported as such.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from sweeplab import contract

log = logging.getLogger(__name__)


class UsageError(ValueError):
    """A mistake of the command's user: the message is the one line they see."""


class NoSweepsFound(UsageError):
    """None of the given paths is, or contains, a sweep dir."""


def is_job_dir(path: Path) -> bool:
    try:
        return (path / ".hydra").is_dir()
    except OSError:
        return False


def is_sweep_dir(path: Path) -> bool:
    """A dir holding Hydra's multirun.yaml or job dirs with a `.hydra/` folder."""
    try:
        if not path.is_dir():
            return False
        if (path / contract.SWEEP_CONFIG).is_file():
            return True
        return any(child.is_dir() and is_job_dir(child) for child in path.iterdir())
    except OSError:
        return False


def find_sweeps(paths: list[str | os.PathLike]) -> list[Path]:
    """The sweep dirs named by `paths`: each path is a sweep dir or is searched for them."""
    found: list[Path] = []
    for raw in paths:
        root = Path(raw)
        if not root.is_dir():
            continue
        if is_sweep_dir(root):
            found.append(root)
            continue
        for dirpath, dirnames, _ in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            here = Path(dirpath)
            if here != root and is_sweep_dir(here):
                found.append(here)
                dirnames[:] = []  # a sweep's job dirs are not sweeps
    unique: dict[Path, Path] = {}
    for path in found:
        unique.setdefault(path.resolve(), path)
    return list(unique.values())


def why_not(path: Path) -> str:
    """Why `path` holds no sweep, in words that say what to give instead."""
    if not path.exists():
        return f"{path} does not exist"
    if not path.is_dir():
        return f"{path} is not a directory"
    if is_job_dir(path) and (path.parent / contract.SWEEP_CONFIG).is_file():
        return f"{path} is a job dir; give its sweep dir {path.parent}"
    if is_job_dir(path):
        return f"{path} is a single run, not a sweep: give the dir of a `sweeplab -m ...` sweep (or its parent)"
    return f"{path} holds no sweep dir (one with multirun.yaml or job dirs with .hydra/)"
