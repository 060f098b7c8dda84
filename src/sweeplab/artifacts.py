"""Writing a run's files atomically: a temporary file in the same directory, then os.replace.

A killed run leaves each file either in its previous complete state or in its new one, never half
written. A write that fails (a full disk) leaves the previous file and raises the OSError that caused
it, naming the file, even when a library wrapped it in its own error (torch.save: "unexpected pos").
docs/ARTIFACTS.md describes the files.
"""

import csv
import io
import json
import math
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

from sweeplab.contract import SUMMARY_FILE, read_summary


def atomic_write(path: Path, write: Callable[[IO[bytes]], None]) -> None:
    """Call `write` on a temporary file next to `path`, then rename it over `path`."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o644)  # mkstemp makes files private; results are meant to be shared
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        cause = os_error_in(exc)
        if cause is not None and (cause is not exc or not cause.filename):
            raise OSError(cause.errno, cause.strerror, str(path)) from exc
        raise


def os_error_in(exc: BaseException) -> OSError | None:
    """The OSError with an errno behind `exc` (itself, or in its __cause__/__context__ chain), if any."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, OSError) and exc.errno is not None:
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def write_json(path: Path, data: dict) -> None:
    """Strict JSON: a non-finite number (a diverged loss) is written as null, which every reader takes."""
    text = json.dumps(_finite(data), indent=2, default=str, allow_nan=False)
    write_text(path, text + "\n")


def _finite(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def update_summary(run_dir: Path, **fields) -> dict:
    """Merge `fields` into the run's summary.json (creating it) and return the whole summary."""
    summary = read_summary(run_dir) or {}
    summary.update(fields)
    write_json(Path(run_dir) / SUMMARY_FILE, summary)
    return summary


def write_csv(path: Path, columns: Sequence[str], rows: Sequence[dict]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_text(path, buffer.getvalue())


def save_torch(path: Path, obj) -> None:
    import torch  # only a training run writes checkpoints

    atomic_write(path, lambda f: torch.save(obj, f))
