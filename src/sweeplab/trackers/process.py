"""A tracker in a process of its own: the training never waits for it, nor shares its GIL with it.

On a thread, the tracker's Python (importing MLflow, creating a sqlite store: about 3 s of CPU) took
turns for the GIL with the training, which hands it back and forth at every tensor operation: a
5000-step CPU run took 4.5% longer with `logger=mlflow` (bench/trackers.py, a quiet machine) where
the tracker's own work is 2.5% of it. A child process (`python -m sweeplab.trackers.process`) does
the same work beside the training, on another core where there is one.

The pipes carry pickled messages. To the child: its settings, each metrics row once (it keeps them
all), "drain" and the summary; then its stdin closes, at the finish or when the training process
dies however it dies, and the child ends. From the child: its log records, which the training's
own loggers handle (the job's log file and stderr: its one warning line reads as before), and the
answer to "drain". The child has a session of its own: a Ctrl-C is the training's to handle.
"""

from __future__ import annotations

import importlib
import logging
import os
import pickle
import queue
import subprocess
import sys
import threading
from pathlib import Path

from sweeplab.job import Job
from sweeplab.trackers import Guarded, Tracker

log = logging.getLogger(__name__)


class Background(Tracker):
    def __init__(self, name: str, logger: dict, config: dict, job: Job, label: str):
        package_root = str(Path(__file__).resolve().parents[2])  # the child finds this sweeplab
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))}
        self.child = subprocess.Popen(
            [sys.executable, "-m", __name__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            start_new_session=True,
        )
        self.outbox: queue.SimpleQueue = queue.SimpleQueue()  # written by a thread: a full pipe never stalls training
        self.drained = threading.Event()
        self.writer = threading.Thread(target=self._write, name="tracker-writer", daemon=True)
        self.reader = threading.Thread(target=self._read, name="tracker-reader", daemon=True)
        self.writer.start()
        self.reader.start()
        self.outbox.put((name, logger, config, job, label, logging.getLogger().getEffectiveLevel()))
        self.sent = 0

    def log_rows(self, rows: list[dict]) -> None:
        self.outbox.put(("rows", rows[self.sent :]))  # the loop only appends: send what is new
        self.sent = len(rows)

    def drain(self) -> None:
        """Wait until every call so far is done (or the tracker is gone)."""
        self.drained.clear()
        self.outbox.put(("drain",))
        while not self.drained.wait(1.0) and self.child.poll() is None:
            pass

    def finish(self, summary: dict, settings: dict) -> None:
        self.outbox.put(("finish", summary, settings))
        self.outbox.put(None)
        self.child.wait()
        self.reader.join()
        if self.child.returncode != 0:
            log.warning(
                "logger: the tracker process ended with status %s (its own files are complete)", self.child.returncode
            )

    def _write(self) -> None:
        try:
            while (message := self.outbox.get()) is not None:
                pickle.dump(message, self.child.stdin)
                self.child.stdin.flush()
        except OSError:  # the child is gone: its end says why, or finish() does
            pass
        finally:
            try:
                self.child.stdin.close()
            except OSError:
                pass

    def _read(self) -> None:
        try:
            while True:
                kind, value = pickle.load(self.child.stdout)
                if kind == "log":
                    record = logging.makeLogRecord(value)
                    logging.getLogger(record.name).handle(record)
                else:
                    self.drained.set()
        except (EOFError, OSError, pickle.UnpicklingError):
            self.drained.set()


class ToParent(logging.Handler):
    """The child's log records, pickled to the parent (message formatted here: the args may not pickle)."""

    def __init__(self, out):
        super().__init__()
        self.out, self.lock_out = out, threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        value = {**record.__dict__, "msg": record.getMessage(), "args": None, "exc_info": None, "exc_text": None}
        send(self.out, "log", value, self.lock_out)


def send(out, kind: str, value, lock: threading.Lock) -> None:
    with lock:
        pickle.dump((kind, value), out)
        out.flush()


def serve(inbox, out) -> None:
    """The child: open the backend (guarded), then log what the training sends until its stdin closes."""
    from omegaconf import OmegaConf

    name, logger, config, job, label, level = pickle.load(inbox)
    to_parent = ToParent(out)
    root = logging.getLogger()
    root.handlers[:] = [to_parent]
    root.setLevel(level)
    module = importlib.import_module(f"sweeplab.trackers.{name}")
    guarded = Guarded(name, label)
    guarded.tracker = guarded.attempt(lambda: module.open(OmegaConf.create(logger), config, job, label))
    rows: list[dict] = []
    while True:
        try:
            kind, *args = pickle.load(inbox)
        except EOFError:  # the finish, or the training process is gone
            return
        if kind == "rows":
            rows.extend(args[0])
            guarded.log_rows(rows)
        elif kind == "finish":
            guarded.finish(*args)
        elif kind == "drain":
            send(out, "drained", None, to_parent.lock_out)


def main() -> None:
    out = os.fdopen(os.dup(1), "wb")  # the messages' own pipe: whatever a library prints goes to stderr
    os.dup2(2, 1)
    try:
        serve(sys.stdin.buffer, out)
    except Exception as exc:  # noqa: BLE001  (one line on stderr; the parent warns that the tracker ended)
        print(f"logger: the tracker process failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
