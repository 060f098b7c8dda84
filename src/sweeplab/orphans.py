"""A sweep's worker process ends within seconds of the sweep process's death.

joblib's loky workers and submitit's local jobs are children of the sweep process; when it is
SIGKILLed (or killed by the OOM killer) nothing tells them, and they kept training, or sat idle
holding a GB each, for as long as nobody looked. A daemon thread in the worker watches the sweep
process; when it is gone it sends this process SIGTERM, which the training loop takes as a stop
request (checkpoint, then exit: the rerun resumes there), and ends the process outright if that
has not happened after GRACE_S (a worker between jobs, or in submitit, which ignores SIGTERM).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

POLL_S = 0.5
GRACE_S = 10.0
_watching = threading.Event()  # one watcher per process, whatever number of jobs it runs


def end_with_sweep(sweep_gone: Callable[[], bool]) -> None:
    """Start this process's watcher (once): it ends the process when `sweep_gone()` turns true."""
    if _watching.is_set():
        return
    _watching.set()
    threading.Thread(target=_watch, args=(sweep_gone,), name="sweeplab-sweep-watch", daemon=True).start()


def _watch(sweep_gone: Callable[[], bool]) -> None:
    parent = os.getppid()  # the sweep process: re-parenting tells its death even while it is a zombie
    while os.getppid() == parent and not sweep_gone():
        time.sleep(POLL_S)
    log.warning("the sweep process died: this worker checkpoints and stops (rerun the sweep to resume)")
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(GRACE_S)
    os._exit(143)
