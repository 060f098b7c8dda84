"""Fault injection for the scale-out tests: a Hydra callback, never shipped with the library.

Add it to any `python -m sweeplab` command line (PYTHONPATH must reach the repo root, so that
joblib and submitit workers can import it too):

    +hydra.callbacks.fault._target_=tests.scaleout.faults.Fault +hydra.callbacks.fault.job=1
    +hydra.callbacks.fault.how=kill

`on_job_start` runs in the process that runs the job (the main process for the basic launcher, a
loky worker for joblib, a submitit task process), so the fault hits exactly that job: right after
its first checkpoint.pt is written, mid-training, the job raises (`raise`), exits without cleanup
(`exit`: os._exit(3)), is SIGKILLed (`kill`) or is sent SIGUSR2, submitit's preemption signal
(`usr2`; only once per job dir, so that the requeued job can finish).
"""

import os
import signal
from pathlib import Path

from hydra.experimental.callback import Callback

HOWS = ("raise", "exit", "kill", "usr2")


class Fault(Callback):
    def __init__(self, job: int | None = None, how: str = "raise") -> None:
        assert how in HOWS, how
        self.job, self.how = job, how
        self._original = None

    def on_job_start(self, config, **kwargs) -> None:
        num = config.hydra.job.get("num")
        if self.job is not None and num != self.job:
            return
        from sweeplab import artifacts

        job_dir = Path(config.hydra.runtime.output_dir)
        marker = job_dir / f".fault-{self.how}-done"
        if self.how == "usr2" and marker.exists():
            return
        original = self._original = artifacts.save_torch
        how = self.how

        def save_then_fault(path, obj):
            original(path, obj)
            if how == "raise":
                raise RuntimeError("injected fault")
            if how == "exit":
                os._exit(3)
            if how == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            marker.write_text("signalled\n")
            artifacts.save_torch = original
            os.kill(os.getpid(), signal.SIGUSR2)

        artifacts.save_torch = save_then_fault

    def on_job_end(self, config, job_return, **kwargs) -> None:
        if self._original is not None:
            from sweeplab import artifacts

            artifacts.save_torch = self._original
            self._original = None
