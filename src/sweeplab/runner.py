"""Run one job: check it, lock its dir, decide run/skip/refuse, run the task, record any failure.

Every check that needs no dir comes first (sweeplab.preflight): a refused run writes nothing, and
its dir stays free for the corrected command; a sweep's refused job, whose dir the launcher has
made, records `failed` with its one line, for the report.

The runner holds the dir's lock (sweeplab.lock) for the whole job, so a second process that would
write into it is refused in one line. Then, before anything is written, it decides from what the dir
records (sweeplab.finished): a run of another config is refused; a finished run (`completed`,
`diverged`) of the same config is kept as it is; anything else (`running`: killed or preempted;
`failed`) is run again, and the task continues from its checkpoint. A finished run whose
metrics.csv was cut short (a copy, a full disk) gets it back from its final checkpoint.

A job that raises leaves `summary.json` with status `failed`, the error in one line, and the
traceback in `error.txt`; the exception is re-raised so Hydra marks the job failed, runs the other
jobs of the sweep and exits non-zero at the end. An allocation failure (out of memory) is re-raised
as a one-line error naming its cause.
"""

from __future__ import annotations

import importlib
import logging
import traceback
from collections.abc import Sequence
from pathlib import Path

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from sweeplab import artifacts, contract
from sweeplab.contract import ERROR_FILE, FAILED, RUNNING, SUMMARY_FILE, read_summary
from sweeplab.errors import ConfigError, UsageError
from sweeplab.finished import job_state, refusal
from sweeplab.job import Job
from sweeplab.lock import hold
from sweeplab.preflight import check_job
from sweeplab.repair import repair_finished
from sweeplab.resources import as_out_of_memory

log = logging.getLogger(__name__)


def run_job(cfg: DictConfig, out_dir: Path, overrides: Sequence[str] = (), **how) -> dict:
    """Run the job `cfg` in `out_dir`; returns its summary. `how`: the other fields of sweeplab.job.Job."""
    out_dir = Path(out_dir)
    job = Job(out_dir, list(overrides), **how)
    try:
        config = OmegaConf.to_container(cfg, resolve=True)
    except OmegaConfBaseException as exc:  # ${oc.env:NOPE}, ${nope}: a broken interpolation in an override
        raise ConfigError(f"the config does not resolve: {str(exc).splitlines()[0]}") from None
    try:
        check_job(cfg)  # a refused run writes nothing, so its dir stays free for the corrected command
    except UsageError as refused:
        if job.multirun and out_dir.is_dir():  # a sweep's job dir (the launcher made it): the report lists it
            record_refusal(out_dir, config, job, refused)
        raise
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(
            f"cannot create the run dir {out_dir}: {exc.strerror}; choose another (hydra.run.dir=...)"
        ) from None
    with hold(out_dir, "run dir", claim=False) as claim:
        state, action = job_state(out_dir, config)
        if action == "refuse":  # before writing anything: that run's files stay as they are
            raise ConfigError(refusal(out_dir, config))
        if action == "skip":
            log.info("%s already holds a %s run: kept as it is, nothing to do", out_dir, state)
            repair_finished(out_dir, claim)
            return read_summary(out_dir) or {}
        claim()
        log.info("output dir: %s", out_dir)
        clean_up_partial_writes(out_dir)
        try:
            # The summary says what ran and how it is going; the task adds its numbers.
            artifacts.write_json(out_dir / SUMMARY_FILE, started(config, job, RUNNING))
            return task_runner(cfg.task)(cfg, job)
        except Exception as exc:
            if (out_of_memory := as_out_of_memory(exc)) is not None:
                out_of_memory.__cause__ = exc  # error.txt keeps the allocator's traceback
                record_failure(out_dir, out_of_memory)
                raise out_of_memory from exc
            record_failure(out_dir, exc)
            raise


def started(config: dict, job: Job, status: str, error: str | None = None) -> dict:
    """The summary a job starts with: what ran and how it is going; the task adds its numbers."""
    return {
        contract.STATUS: status,
        contract.TASK: config.get("task"),
        contract.OVERRIDES: job.overrides,
        contract.ERROR: error,
        contract.CONFIG: config,
    }


def record_refusal(out_dir: Path, config: dict, job: Job, refused: UsageError) -> None:
    """A sweep's refused job: `failed` with its one line, unless the dir holds another run (left alone)."""
    try:
        with hold(out_dir, "run dir"):
            if job_state(out_dir, config)[1] == "run":
                summary = read_summary(out_dir) or {}
                fields = started(config, job, FAILED, one_line(refused))
                artifacts.write_json(out_dir / SUMMARY_FILE, {**summary, **fields})
    except (UsageError, OSError) as busy_or_full:  # another writer's dir, a full disk: the refusal still stands
        log.warning("could not record the refusal in %s: %s", out_dir, busy_or_full)


def objective(cfg: DictConfig, summary: dict) -> float | None:
    """The number an optimising sweeper (Optuna, Ax, Nevergrad) reads: the task spec's objective."""
    spec = contract.task_spec(cfg.get("task"))
    value = summary.get(spec.objective) if spec is not None and spec.objective else None
    return float(value) if isinstance(value, (int, float)) else None


def task_runner(name: str):
    """The task's run(cfg, job), imported only when chosen (torch is not imported for `--help`)."""
    module, _, function = contract.task_specs()[name].run.partition(":")
    return getattr(importlib.import_module(module), function)


def clean_up_partial_writes(out_dir: Path) -> None:
    """Remove `.X.tmp` files of atomic writes that a killed run left behind (we hold the lock)."""
    for tmp in out_dir.glob(".*.tmp"):
        tmp.unlink(missing_ok=True)


def record_failure(out_dir: Path, exc: Exception) -> None:
    message = one_line(exc)
    try:
        artifacts.update_summary(out_dir, status=FAILED, error=message)
        artifacts.write_text(out_dir / ERROR_FILE, "".join(traceback.format_exception(exc)))
    except OSError as write_error:  # a full disk: the cause stays in the log
        log.error("could not record the failure in %s: %s", out_dir, write_error)
    if not isinstance(exc, UsageError):  # Hydra already prints a UsageError's one line
        log.error("job failed: %s", message)


def one_line(exc: BaseException) -> str:
    """`Type: first line of the message`, for summary.json and the log."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")
