"""A finished run's files: find a cut metrics.csv or checkpoint.pt, and rebuild metrics.csv from the
final checkpoint (which holds every row). A rerun of a finished run, or a sweep that skips it, calls
this under the run dir's lock; nothing here needs torch unless a file is damaged."""

from __future__ import annotations

import csv
import logging
import zipfile
from pathlib import Path

from sweeplab import artifacts
from sweeplab.contract import CHECKPOINT_FILE, METRICS_FILE, SUMMARY_FILE, read_summary, task_spec
from sweeplab.errors import UsageError
from sweeplab.lock import hold

log = logging.getLogger(__name__)


def damaged_files(run_dir: Path, summary: dict) -> dict[str, str]:
    """{file: what is wrong} for a finished run's metrics.csv and checkpoint.pt (no torch import)."""
    damaged = {}
    spec = task_spec(summary.get("task"))
    columns = spec.metric_columns if spec is not None else ()
    metrics = run_dir / METRICS_FILE
    if columns and metrics.is_file():
        if problem := _metrics_problem(metrics, columns, summary.get("steps_done")):
            damaged[METRICS_FILE] = problem
    checkpoint_file = run_dir / CHECKPOINT_FILE
    if checkpoint_file.is_file():
        try:  # torch.save writes a zip archive; a cut one has no central directory at its end
            with zipfile.ZipFile(checkpoint_file) as archive:
                archive.namelist()
        except (zipfile.BadZipFile, OSError) as exc:
            damaged[CHECKPOINT_FILE] = f"not a complete torch file ({exc})"
    return damaged


def _metrics_problem(path: Path, columns, steps_done) -> str | None:
    try:
        text = path.read_text()
        rows = list(csv.DictReader(text.splitlines()))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        return f"unreadable ({exc})"
    if not text.endswith("\n"):
        return "cut short in its last line"
    if not rows or any(None in row.values() or None in row for row in rows):
        return "has incomplete rows" if rows else "has no rows"
    if list(rows[0]) != list(columns):
        return f"has the columns {', '.join(rows[0])} instead of {', '.join(columns)}"
    last = rows[-1].get("step")
    if steps_done is not None and str(last) != str(steps_done):
        return f"ends at step {last} but the run ended at step {steps_done}"
    return None


def repair_finished(run_dir: Path, claim=lambda: None) -> dict[str, str]:
    """Rebuild a finished run's damaged metrics.csv from its final checkpoint (which holds every row);
    log what cannot be rebuilt. Returns {file: problem} of what is still damaged. `claim()` is called
    before writing (the caller holds the dir's lock)."""
    summary = read_summary(run_dir) or {}
    damaged = damaged_files(run_dir, summary)
    if METRICS_FILE in damaged and CHECKPOINT_FILE not in damaged and (run_dir / CHECKPOINT_FILE).is_file():
        from sweeplab.checkpoint import read  # torch: only for a damaged run

        try:
            state = read(run_dir / CHECKPOINT_FILE)
        except UsageError as exc:
            state = {}
            damaged[CHECKPOINT_FILE] = str(exc)
        rows = state.get("rows")
        if state.get("step") == summary.get("steps_done") and isinstance(rows, list) and rows:
            claim()
            artifacts.write_csv(run_dir / METRICS_FILE, task_spec(summary["task"]).metric_columns, rows)
            log.warning(  # named by its dir: a sweep repairs its skipped jobs one after another
                "%s: %s %s: rebuilt from %s (%d rows)",
                run_dir,
                METRICS_FILE,
                damaged.pop(METRICS_FILE),
                CHECKPOINT_FILE,
                len(rows),
            )
    for name, problem in damaged.items():
        log.warning(
            "%s: %s of this finished run is damaged: %s; %s",
            run_dir,
            name,
            problem,
            "the last checkpoint cannot rebuild it"
            if name == METRICS_FILE
            else f"its results ({SUMMARY_FILE}, {METRICS_FILE}) are intact, but it cannot be continued or "
            "interpolated: rerun the config in a new dir for a new checkpoint",
        )
    return damaged


def repair_skipped(run_dir: Path) -> dict[str, str]:
    """`repair_finished` for a finished job that a sweeper skips: under the job dir's lock, left as it
    is (and named in the log) while another process holds it. Returns what is still damaged."""
    try:
        with hold(run_dir, "run dir", claim=False) as claim:
            return repair_finished(run_dir, claim)
    except UsageError as busy:
        log.warning("%s; its files were not checked", busy)
        return {}
