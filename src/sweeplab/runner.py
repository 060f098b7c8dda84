"""Run one job: validate, skip it if already finished, run the task, record any failure.

A dir that holds a run of another config is refused before anything is written; a finished run
(`completed`, `diverged`) of the same config is kept as it is; any other (`running`: killed or
preempted; `failed`) is run again, and the task continues from its checkpoint (sweeplab.finished).

A job that raises leaves `summary.json` with status `failed`, the error in one line, and the
traceback in `error.txt`; the exception is re-raised so Hydra marks the job failed, runs the other
jobs of the sweep and exits non-zero at the end.
"""

import logging
import traceback
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from sweeplab import artifacts
from sweeplab.config import validate_common
from sweeplab.errors import ConfigError
from sweeplab.finished import job_state, refusal
from sweeplab.tasks import TASKS, get_task

log = logging.getLogger(__name__)


def run_job(cfg: DictConfig, out_dir: Path, overrides: list[str]) -> dict:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    config = OmegaConf.to_container(cfg, resolve=True)
    state, action = job_state(out_dir, config)
    if action == "refuse":  # before writing anything: that run's files stay as they are
        raise ConfigError(refusal(out_dir))
    if action == "skip":
        log.info("%s already holds a %s run: kept as it is, nothing to do", out_dir, state)
        return artifacts.read_json(out_dir / artifacts.SUMMARY_FILE)
    log.info("output dir: %s", out_dir)
    try:
        # The summary says what ran and how it is going; the task adds its numbers.
        artifacts.write_json(
            out_dir / artifacts.SUMMARY_FILE,
            {"status": "running", "task": cfg.get("task"), "overrides": overrides, "error": None, "config": config},
        )
        validate_common(cfg, list(TASKS))
        return get_task(cfg.task)(cfg, out_dir, overrides)
    except Exception as exc:
        record_failure(out_dir, overrides, exc)
        raise


def record_failure(out_dir: Path, overrides: list[str], exc: Exception) -> None:
    message = f"{type(exc).__name__}: {exc}".splitlines()[0]
    artifacts.update_summary(out_dir, status="failed", error=message)
    artifacts.write_text(out_dir / artifacts.ERROR_FILE, "".join(traceback.format_exception(exc)))
    if not isinstance(exc, ConfigError):  # Hydra already prints a ConfigError's one line
        log.error("job failed: %s", message)
