"""Writing a run's files atomically: a temporary file in the same directory, then os.replace.

A killed run leaves each file either in its previous complete state or in its new one, never half
written. docs/ARTIFACTS.md describes the files.
"""

import csv
import io
import json
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

import torch

METRICS_FILE = "metrics.csv"
SUMMARY_FILE = "summary.json"
CHECKPOINT_FILE = "checkpoint.pt"
CURVES_FILE = "curves.png"
ERROR_FILE = "error.txt"


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
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def write_json(path: Path, data: dict) -> None:
    write_text(path, json.dumps(data, indent=2, default=str) + "\n")


def read_json(path: Path) -> dict | None:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def update_summary(run_dir: Path, **fields) -> dict:
    """Merge `fields` into the run's summary.json (creating it) and return the whole summary."""
    path = Path(run_dir) / SUMMARY_FILE
    summary = read_json(path) or {}
    summary.update(fields)
    write_json(path, summary)
    return summary


def write_csv(path: Path, columns: Sequence[str], rows: Sequence[dict]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_text(path, buffer.getvalue())


def save_torch(path: Path, obj) -> None:
    atomic_write(path, lambda f: torch.save(obj, f))
