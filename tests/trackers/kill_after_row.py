"""A test-only Hydra callback: SIGKILL the job's process right after its tracker logged the row of
`step` (the training waits for the tracker's process to write it), once per job dir. With `step` between two checkpoints, the resumed job recomputes the rows
after its last checkpoint, which the tracker already holds: the case that must not log twice.

    +hydra.callbacks.kill._target_=tests.trackers.kill_after_row.KillAfterRow
    +hydra.callbacks.kill.step=15 +hydra.callbacks.kill.job=1
"""

import os
import signal
from pathlib import Path

from hydra.experimental.callback import Callback


class KillAfterRow(Callback):
    def __init__(self, step: int, job: int | None = None) -> None:
        self.step, self.job = step, job
        self._original = None

    def on_job_start(self, config, **kwargs) -> None:
        if self.job is not None and config.hydra.job.get("num") != self.job:
            return
        from sweeplab.trackers.process import Background

        marker = Path(config.hydra.runtime.output_dir) / ".killed-after-row"
        original = self._original = Background.log_rows
        step = self.step

        def log_then_kill(tracker, rows):
            original(tracker, rows)
            if rows[-1]["step"] == step and not marker.exists():
                tracker.drain()
                marker.write_text("killed\n")
                os.kill(os.getpid(), signal.SIGKILL)

        Background.log_rows = log_then_kill

    def on_job_end(self, config, job_return, **kwargs) -> None:
        if self._original is not None:  # the basic launcher runs the next job in this process
            from sweeplab.trackers.process import Background

            Background.log_rows = self._original
            self._original = None


def kill_after_row(step: int, job: int | None = None) -> list[str]:
    """The command-line overrides that add the callback."""
    args = [f"+hydra.callbacks.kill._target_={__name__}.KillAfterRow", f"+hydra.callbacks.kill.step={step}"]
    return args + ([f"+hydra.callbacks.kill.job={job}"] if job is not None else [])
