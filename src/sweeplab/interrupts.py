"""Ctrl-C (SIGINT) and SIGTERM at any moment of a run: one line, a resumable run, never `failed`.

Left to Python, SIGINT becomes a KeyboardInterrupt wherever the main thread happens to be: inside an
import (a half-made module whose later, false error would be recorded as the job's failure), inside
a library that swallows it (the run trains on), or between a checkpoint's rename and the note of
where the run resumes (a false "resumes from step N"). So sweeplab takes both signals itself:

- `install()` (the CLI, before its imports): outside training, a signal ends the process at once,
  with one line and exit status 130 (SIGINT) or 143 (SIGTERM). Every file is written atomically and a
  summary says `running` until its run is done, so this is as safe as a kill, and the line says which
  command resumes.
- `stop_requests()` (the training loop): a signal is a request that the loop takes at the end of
  the step; it checkpoints there and raises `Stopped`, so nothing trained is lost.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator

EXIT_STATUS = {signal.SIGINT: 130, signal.SIGTERM: 143}  # 128 + the signal: the shell's convention
WHAT = {signal.SIGINT: "interrupted", signal.SIGTERM: "terminated (SIGTERM)"}

# How to resume, once the run (or sweep) dir is known: None for "the same command".
_resume_command: str | None = None
_dir_known = False
_sweep = False


def set_resume_command(command: str | None, sweep: bool = False) -> None:
    """Record how to resume this process's run or sweep: `command`, or the same command if None."""
    global _resume_command, _dir_known, _sweep
    _resume_command, _dir_known, _sweep = command, True, sweep


def how_to_resume(step: int | None = None) -> str:
    """`the same command resumes from step N` or `resume from step N with: sweeplab ...`."""
    if step is not None:
        where = f"from step {step}"
    else:
        where = "every unfinished job from its last checkpoint" if _sweep else "from its last checkpoint"
    if _resume_command is None:
        return f"the same command resumes {where}"
    return f"resume {where} with: {_resume_command}"


class Stopped(KeyboardInterrupt):
    """A signal stopped training at a step boundary, after a checkpoint of that step.

    A KeyboardInterrupt, so that no `except Exception` (the runner's failure record, Hydra's job
    report) takes it for the job's failure."""

    def __init__(self, signum: int, step: int):
        super().__init__(f"{WHAT[signum]} at step {step} (checkpointed); {how_to_resume(step)}")
        self.signum, self.step = signum, step

    @property
    def exit_status(self) -> int:
        return EXIT_STATUS[self.signum]


def install() -> None:
    """From now on, outside `stop_requests()`, SIGINT and SIGTERM end this process in one line."""
    for signum in EXIT_STATUS:
        signal.signal(signum, _exit_now)


def _exit_now(signum: int, frame) -> None:
    if not _dir_known:
        line = f"{WHAT[signum]} before the run started; nothing was trained"
    else:
        line = f"{WHAT[signum]}; {how_to_resume()}"
    say(line)
    os._exit(EXIT_STATUS[signum])  # no unwinding: nothing half-done can be recorded as a failure


def last_line(line: str) -> None:
    """Print the process's last line to stderr: a signal from now on (a second Ctrl-C while it
    exits) ends it without a second line."""
    for signum in EXIT_STATUS:
        if signal.getsignal(signum) is _exit_now:
            signal.signal(signum, _exit_quietly)
    print(line, file=sys.stderr)


def _exit_quietly(signum: int, frame) -> None:
    os._exit(EXIT_STATUS[signum])


def say(line: str) -> None:
    """Write `line` to stderr from a signal handler (the stream's own lock may be held by the code
    the signal interrupted, so the bytes go straight to the descriptor)."""
    with contextlib.suppress(Exception):
        sys.stdout.flush()
    with contextlib.suppress(OSError):
        os.write(2, (line + "\n").encode(errors="replace"))


@contextlib.contextmanager
def stop_requests() -> Iterator[Callable[[], int | None]]:
    """While the block runs, SIGINT and SIGTERM only note themselves; yields `pending()`: the first
    signal noted, or None. Outside the main thread (where no handler can be set) nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield lambda: None
        return
    noted: list[int] = []
    previous = {}
    try:
        for signum in EXIT_STATUS:
            previous[signum] = signal.signal(signum, lambda s, _frame: noted.append(s))
        yield lambda: noted[0] if noted else None
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
