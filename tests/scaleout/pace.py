"""A test-only Hydra callback that slows a run down, so that a test can act on it mid-training.

    +hydra.callbacks.pace._target_=tests.scaleout.pace.Pace +hydra.callbacks.pace.seconds=2

After every checkpoint.pt the run waits `seconds` (in the job's process, so under any launcher):
a run of C checkpoints lasts about C x seconds whatever the machine's speed, and a signal sent
after its first checkpoint finds it mid-run. The wait changes no result: the same numbers come out.
"""

import time

from hydra.experimental.callback import Callback


class Pace(Callback):
    def __init__(self, seconds: float = 1.0, job: int | None = None) -> None:
        self.seconds, self.job = seconds, job
        self._original = None

    def on_job_start(self, config, **kwargs) -> None:
        if self.job is not None and config.hydra.job.get("num") != self.job:
            return
        from sweeplab import artifacts

        original = self._original = artifacts.save_torch
        seconds = self.seconds

        def save_then_wait(path, obj):
            original(path, obj)
            time.sleep(seconds)

        artifacts.save_torch = save_then_wait

    def on_job_end(self, config, job_return, **kwargs) -> None:
        if self._original is not None:
            from sweeplab import artifacts

            artifacts.save_torch = self._original
            self._original = None


def pace(seconds: float, job: int | None = None) -> list[str]:
    """The command-line overrides that add the callback."""
    args = [
        "+hydra.callbacks.pace._target_=tests.scaleout.pace.Pace",
        f"+hydra.callbacks.pace.seconds={seconds}",
    ]
    return args + ([f"+hydra.callbacks.pace.job={job}"] if job is not None else [])
