"""Where and how the runner runs one job: what a task needs besides its config (no torch import)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Job:
    out_dir: Path
    overrides: list[str] = field(default_factory=list)  # the job's command-line overrides
    multirun: bool = False  # one of a sweep's jobs: its log lines carry its label, no progress bar
    interactive: bool = False  # stderr is a terminal
    sweep_pid: int | None = None  # a parallel worker's sweep process: the job stops if it dies

    def sweep_gone(self) -> bool:
        if self.sweep_pid is None:
            return False
        try:
            os.kill(self.sweep_pid, 0)  # signal 0: only asks whether the process exists
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False
