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
from collections.abc import Callable, Iterator
from pathlib import Path

from sweeplab.contract import LOCK_FILE
from sweeplab.errors import UsageError


@contextlib.contextmanager
def hold(directory: Path, what: str = "run dir", claim: bool = True) -> Iterator[Callable[[], None]]:
    """Hold `directory`'s lock, or raise UsageError naming the process that holds it. Yields `claim()`,
    which records this process as the holder (called here unless `claim=False`: a process that may
    still turn the dir down leaves the file as it is)."""
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

        def claim_it() -> None:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode(), 0)

        if claim:
            claim_it()
        yield claim_it
    finally:
        os.close(fd)  # closing the descriptor releases the lock
