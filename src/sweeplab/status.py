"""``sweeplab-status SWEEP_DIR [--jobs]``: how far a sweep has got, from its job dirs alone.

It reads what every run writes (summary.json, metrics.csv, .hydra/; docs/ARTIFACTS.md) and never a
launcher's internals, so it answers the same for a sweep running here (any launcher) or on a cluster
(a shared file system): jobs done / running / failed / pending of N, each running job's progress, and
an ETA from the finished jobs' speed. N is the size of the grid the sweep declared (its multirun.yaml:
the Cartesian product of `hydra.sweeper.params` and the command line's sweeps, as Hydra's basic sweeper
builds it); a sweeper that decides as it goes (adaptive) has no N up front: the job dirs found count.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import socket
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from sweeplab import sweeps
from sweeplab.contract import (
    COMPLETED,
    DIVERGED,
    FAILED,
    FINISHED,
    HYDRA_CONFIG,
    LOCK_FILE,
    METRICS_FILE,
    RUNNING,
    SUMMARY_FILE,
    SWEEP_CONFIG,
    read_summary,
)

PENDING = sweeps.PENDING  # here also a job dir without a summary yet (Hydra made it; the run has not started)
#: a summary.json that cannot be read (torn, edited): rerunning the sweep repairs it (its identity
#: comes from the checkpoint)
CORRUPT = sweeps.CORRUPT
#: a `running` job whose writer is provably gone (it held the dir's lock on this host, and that
#: process has ended): killed or preempted; a rerun, or SLURM's requeue, continues it
INTERRUPTED = "interrupted"
HYDRA_DIR = sweeps.HYDRA_DIR


class NotASweep(ValueError):
    """The dir is missing, or holds neither a sweep's multirun.yaml nor job dirs."""


@dataclass
class Job:
    name: str  # the job dir relative to the sweep dir ("3")
    state: str  # completed, diverged, failed, running, interrupted, pending
    done: int | None = None  # steps (or epochs) done, from metrics.csv's last row
    total: int | None = None  # steps (or epochs) configured
    unit: str = "steps"
    overrides: list[str] = field(default_factory=list)
    seconds: float | None = None  # a finished job: from its start to its summary
    updated_s: float | None = None  # seconds since the job last wrote a file
    error: str | None = None

    @property
    def fraction(self) -> float | None:
        if self.total and self.done is not None:
            return min(1.0, self.done / self.total)
        return None


@dataclass
class SweepStatus:
    sweep_dir: Path
    jobs: list[Job]
    expected: int | None  # N declared by the sweep, None when it declares none

    def count(self, *states: str) -> int:
        return sum(job.state in states for job in self.jobs)

    @property
    def total(self) -> int:
        return max(self.expected or 0, len(self.jobs))

    @property
    def pending(self) -> int:
        """Jobs that have not started: no dir yet, or a dir without a summary."""
        return self.total - len(self.jobs) + self.count(PENDING)

    def eta_s(self) -> float | None:
        """Seconds until the sweep ends at the finished jobs' speed (seconds per step done, from start
        to end, so launching and set-up count) over the configured steps left, with as many jobs at a
        time as run now; None before any job has finished, or when nothing is left."""
        finished = [j for j in self.jobs if j.state in FINISHED and j.seconds and j.done]
        running = [j for j in self.jobs if j.state == RUNNING]
        if not finished or not (running or self.pending):
            return None
        seconds_per_unit = sum(j.seconds for j in finished) / sum(j.done for j in finished)
        totals = [j.total for j in self.jobs if j.total]  # as configured: a job may stop early, none later
        typical_total = sum(totals) / len(totals) if totals else sum(j.done for j in finished) / len(finished)
        left = sum((j.total or typical_total) - (j.done or 0) for j in running)
        left += self.pending * typical_total
        return max(0.0, left) * seconds_per_unit / max(1, len(running))


# --- N: the grid the sweep declared (sweeplab.sweeps) -------------------------------------------------
def declared_jobs(sweep_dir: Path) -> int | None:
    """The number of jobs the sweep's multirun.yaml declares, or None (no file, an adaptive sweeper,
    or sweep values this reader cannot expand)."""
    planned = sweeps.read_record(sweep_dir).planned_jobs()
    return None if planned is None else len(planned)


# --- one job dir ------------------------------------------------------------------------------------
def last_metrics_row(job_dir: Path) -> dict | None:
    try:
        with open(job_dir / METRICS_FILE, newline="") as f:
            rows = deque(csv.DictReader(f), maxlen=1)
        return rows[0] if rows else None
    except (OSError, csv.Error):
        return None


def as_int(value) -> int | None:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def writer_gone(job_dir: Path) -> bool:
    """Whether the process that last held the job dir's lock ran on this host and has ended. The lock
    file names its holder ("pid N on HOST"); a holder on another host cannot be checked from here."""
    try:
        holder = (job_dir / LOCK_FILE).read_text()
    except OSError:
        return False
    match = re.search(r"pid (\d+) on (\S+)", holder)
    if not match or match.group(2) != socket.gethostname():
        return False
    try:
        os.kill(int(match.group(1)), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, someone else's
        return False
    return False


def hydra_overrides(job_dir: Path) -> list[str]:
    try:
        overrides = yaml.safe_load((job_dir / HYDRA_DIR / "overrides.yaml").read_text())
    except (OSError, yaml.YAMLError):
        return []
    return [str(o) for o in overrides] if isinstance(overrides, list) else []


def configured_total(job_dir: Path, summary: dict | None) -> tuple[int | None, str]:
    """(steps or epochs the run is configured for, the unit): summary.json's, else the job's config."""
    summary = summary or {}
    if summary.get("steps") is not None:
        return as_int(summary["steps"]), "steps"
    if summary.get("epochs") is not None and summary.get("steps_per_epoch") is not None:  # a GAN run
        return as_int(summary["epochs"] * summary["steps_per_epoch"]), "steps"
    if summary.get("epochs") is not None:
        return as_int(summary["epochs"]), "epochs"
    try:
        trainer = yaml.safe_load((job_dir / HYDRA_CONFIG).read_text()).get("trainer") or {}
    except (OSError, yaml.YAMLError, AttributeError):
        return None, "steps"
    if "steps" in trainer:
        return as_int(trainer["steps"]), "steps"
    if "epochs" in trainer:
        return as_int(trainer["epochs"]), "epochs"
    return None, "steps"


def latest_write(job_dir: Path) -> float | None:
    times = []
    for name in (SUMMARY_FILE, METRICS_FILE, "sweeplab.log"):
        try:
            times.append((job_dir / name).stat().st_mtime)
        except OSError:
            pass
    return max(times) if times else None


def read_job(sweep_dir: Path, job_dir: Path, now: float) -> Job:
    summary = read_summary(job_dir)
    state = summary.get("status") if summary else None
    if state not in (RUNNING, COMPLETED, DIVERGED, FAILED):
        # a summary.json that cannot be read is `corrupt` (multirun-analysis's word for it); no summary: pending
        state = CORRUPT if (job_dir / SUMMARY_FILE).exists() else PENDING
    total, unit = configured_total(job_dir, summary)
    row = last_metrics_row(job_dir)
    done = as_int(row.get("epoch" if unit == "epochs" else "step")) if row else None
    if state in FINISHED and unit == "steps" and summary.get("steps_done") is not None:
        done = as_int(summary["steps_done"])  # fewer than configured when it stopped early
    elif state == COMPLETED and done is None:
        done = total
    if state == RUNNING and writer_gone(job_dir):
        state = INTERRUPTED
    seconds = None
    if state in FINISHED:
        try:  # from Hydra's start of the job to its final summary: set-up and launching count too
            seconds = (job_dir / SUMMARY_FILE).stat().st_mtime - (job_dir / HYDRA_DIR / "hydra.yaml").stat().st_mtime
        except OSError:
            seconds = None
        if not seconds or seconds <= 0:
            seconds = (summary or {}).get("wall_time_s")
    written = latest_write(job_dir)
    return Job(
        name=str(job_dir.relative_to(sweep_dir)),
        state=state,
        done=done,
        total=total,
        unit=unit,
        overrides=[str(o) for o in (summary or {}).get("overrides") or hydra_overrides(job_dir)],
        seconds=seconds,
        updated_s=None if written is None else max(0.0, now - written),
        error=(summary or {}).get("error") if state == FAILED else None,
    )


def read_sweep(sweep_dir: str | os.PathLike) -> SweepStatus:
    """The sweep's status from its files; NotASweep when the dir is none."""
    sweep_dir = Path(sweep_dir)
    if not sweep_dir.exists():
        raise NotASweep(
            f"{sweep_dir} does not exist (yet): a sweep makes its dir when it starts; check the path, "
            "or give the sweep dir that `sweeplab -m` printed"
        )
    if not sweep_dir.is_dir():
        raise NotASweep(f"{sweep_dir} is a file, not a directory; give the sweep dir that `sweeplab -m` printed")
    if (sweep_dir / SUMMARY_FILE).exists() and not (sweep_dir / SWEEP_CONFIG).exists():
        raise NotASweep(f"{sweep_dir} is a single run's dir, not a sweep; its status is in {SUMMARY_FILE}")
    declared = (sweep_dir / SWEEP_CONFIG).exists()
    # a sweep's subdir may nest (hydra.sweep.subdir=${model}/${seed}); without multirun.yaml only
    # the children count, so that a dir such as /tmp never reads as a sweep
    job_dirs, _unreadable = sweeps.job_dirs(sweep_dir, depth=3 if declared else 1)
    expected = declared_jobs(sweep_dir)
    if not job_dirs and not declared:
        raise NotASweep(
            f"{sweep_dir} is not a sweep dir: it has no {SWEEP_CONFIG} and no job dirs; "
            "give the dir that `sweeplab -m` printed, e.g. multirun/DATE/TIME"
        )
    now = time.time()
    return SweepStatus(sweep_dir, [read_job(sweep_dir, d, now) for d in job_dirs], expected)


# --- the report -------------------------------------------------------------------------------------
def duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def summary_line(status: SweepStatus) -> str:
    done = status.count(*FINISHED)
    diverged = status.count(DIVERGED)
    parts = [
        f"{done} done" + (f" ({diverged} diverged)" if diverged else ""),
        f"{status.count(RUNNING)} running",
    ]
    if status.count(INTERRUPTED):
        parts.append(f"{status.count(INTERRUPTED)} interrupted")
    parts.append(f"{status.count(FAILED)} failed")
    if status.count(CORRUPT):
        parts.append(f"{status.count(CORRUPT)} corrupt")
    parts.append(f"{status.pending} pending")
    of = f"of {status.total}" if status.expected is not None else f"of {status.total} found"
    line = f"{status.sweep_dir}: {', '.join(parts)} {of}"
    if done == status.total:
        return line + "; finished"
    if not status.count(RUNNING):
        if not status.pending:
            return line + "; stopped: rerun the sweep to run the unfinished jobs again"
        if status.count(INTERRUPTED, FAILED, CORRUPT):
            return line + "; none running now: if the sweep has stopped, rerun it to finish the rest"
    eta = status.eta_s()
    if eta is not None:
        return line + f"; ETA {duration(eta)}"
    if status.count(RUNNING) or status.pending:
        return line + "; ETA after the first job finishes"
    return line


def varying(jobs: list[Job]) -> set[str]:
    """The overrides that tell the jobs apart (all of them when there is one job)."""
    seen = [set(job.overrides) for job in jobs if job.overrides]
    if len(seen) < 2:
        return set().union(*seen)
    return set().union(*seen) - set.intersection(*seen)


def job_line(job: Job, shown: set[str]) -> str:
    progress = ""
    if job.total is not None:
        done = "?" if job.done is None else job.done
        progress = f"{done}/{job.total} {job.unit}"
        if job.state in (RUNNING, INTERRUPTED) and job.fraction is not None:
            progress += f" ({job.fraction:.0%})"
    details = [" ".join(o for o in job.overrides if o in shown)]
    if job.state in (RUNNING, INTERRUPTED) and job.updated_s is not None:
        details.append(f"last write {duration(job.updated_s)} ago")
    if job.state in FINISHED and job.seconds:
        details.append(f"took {duration(job.seconds)}")
    if job.error:
        details.append(f"error: {job.error}")
    return f"  job {job.name:>4}  {job.state:<11}  {progress:<24}  " + "  ".join(d for d in details if d)


def report(status: SweepStatus, jobs: bool = False) -> list[str]:
    lines = [summary_line(status)]
    if jobs:
        shown = varying(status.jobs)
        lines += [job_line(job, shown).rstrip() for job in status.jobs]
        missing = status.total - len(status.jobs)
        if missing > 0:
            lines.append(f"  ... and {missing} job(s) not started (no dir yet)")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="sweeplab-status",
        description="How far a sweep has got: jobs done / running / failed / pending of N, each running "
        "job's progress and an ETA, read from the job dirs (any launcher, here or on a cluster).",
    )
    parser.add_argument(
        "sweep_dir",
        metavar="SWEEP_DIR",
        help="the sweep dir, e.g. multirun/2026-11-28/14-03-12-123456",
    )
    parser.add_argument("--jobs", action="store_true", help="one line per job")
    args = parser.parse_args(argv)
    try:
        status = read_sweep(args.sweep_dir)
    except NotASweep as exc:
        print(f"sweeplab-status: error: {exc}", file=sys.stderr)
        return 1
    print("\n".join(report(status, jobs=args.jobs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
