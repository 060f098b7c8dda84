"""One writer per directory: an exclusive lock file, held for as long as a run (or a sweep's plan) writes.

The lock is `fcntl.flock` on `DIR/.lock`: the kernel drops it when its holder dies however it dies,
so a stale lock (a killed run) is simply taken over by the next writer. The file records the holder's
pid and host, for the one-line refusal a second writer gets.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
from collections.abc import Iterator
from pathlib import Path

from sweeplab.contract import LOCK_FILE
from sweeplab.errors import UsageError


@contextlib.contextmanager
def hold(directory: Path, what: str = "run dir") -> Iterator[None]:
    """Hold `directory`'s lock, or raise UsageError naming the process that holds it."""
    path = Path(directory) / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
            raise UsageError(
                f"{directory} is in use by {holder}: a {what} has one writer at a time; "
                "wait for it to finish, or choose another dir"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
