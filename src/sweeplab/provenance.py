"""Which code ran a job: recorded in summary.json so that a report or a diff of two sweeps can say so."""

from __future__ import annotations

import functools
import platform
import subprocess
from pathlib import Path

import sweeplab


@functools.cache  # once per process: the jobs of an in-process sweep share it
def _git_state() -> tuple[str | None, bool | None]:
    """(commit, dirty) of the checkout sweeplab runs from; (None, None) for an installed package."""
    source = Path(sweeplab.__file__).resolve().parent

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", "-C", str(source), *args], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return None, None
    return commit, bool(git("status", "--porcelain", "--untracked-files=no"))


def provenance(device: str | None = None) -> dict:
    import torch  # a job imports torch anyway; `sweeplab --help` does not come here

    commit, dirty = _git_state()
    return {
        "git_commit": commit,
        "git_dirty": dirty,
        "sweeplab": sweeplab.__version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "device": device,
    }
