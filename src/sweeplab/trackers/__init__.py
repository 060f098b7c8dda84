"""Experiment trackers (`logger=tensorboard`, `logger=mlflow`): each run also appears in the tools
researchers already look at, logged exactly once however often the job is killed and resumed.

The training loop calls a tracker at two moments only, off the hot path: `log_rows` each time it
writes a metrics.csv row, and `finish` once the summary is final. Exactly once comes from two rules:

- the tracker run is found by the job's identity (`run_key`: its config and seed, as
  contract.identity defines it), so a killed, requeued or resumed job continues its own tracker run;
- a value is logged only at a step beyond the last one the tracker already holds for that name
  (read back from the tracker when it opens), so the rows a resume recomputes are not logged twice.

A tracker never breaks training: its first failure (store locked, disk full, server down) is one
warning line and the job goes on without it (`Guarded`). Only a backend that is not installed is
refused, in one line with the install command, before the training starts.
"""

from __future__ import annotations

import csv
import hashlib
import importlib
import importlib.util
import json
import logging
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from sweeplab.contract import METRICS_FILE, RESUMABLE_CHANGES, identity
from sweeplab.errors import ConfigError
from sweeplab.job import Job

log = logging.getLogger(__name__)

#: logger=NAME: its module in this package, and its extra in pyproject.toml
BACKENDS = ("tensorboard", "mlflow")
#: metrics.csv columns that are not logged: the step is the x axis, and trackers time every value
#: themselves (a resumed run's replayed rows would otherwise differ from what was logged first)
NOT_LOGGED = ("step", "elapsed_s")


class Tracker:
    """The no-op tracker (`logger=none`) and the interface of the others."""

    def log_rows(self, rows: list[dict]) -> None:
        """Log the rows of metrics.csv (all of them so far) that the tracker does not hold yet."""

    def finish(self, summary: dict, settings: dict) -> None:
        """Log the summary's numbers (not the run's `settings`, which are params), its images, its status."""


class Backend(Tracker):
    """What the backends share: the last step logged per name, and the values beyond it."""

    def __init__(self, last_steps: dict[str, int]):
        self.last_steps = last_steps  # name -> the last step the tracker holds for it

    def new_values(self, rows: list[dict]) -> list[tuple[str, float, int]]:
        """(name, value, step) of every number in `rows` beyond its name's last logged step."""
        values = []
        for row in rows:
            step = int(row["step"])
            for name, value in row.items():
                if name not in NOT_LOGGED and is_number(value) and step > self.last_steps.get(name, -1):
                    values.append((name, float(value), step))
        for name, _, step in values:
            self.last_steps[name] = max(step, self.last_steps.get(name, -1))
        return values

    def summary_values(self, summary: dict, settings: dict) -> list[tuple[str, float, int]]:
        """The summary's numbers (final and best accuracy, steps, speed...) at the run's last step."""
        numbers = {k: v for k, v in summary.items() if k not in settings and is_number(v)}
        return self.new_values([{"step": summary.get("steps_done") or 0, **numbers}])

    def log_values(self, values: list[tuple[str, float, int]]) -> None:
        raise NotImplementedError

    def log_rows(self, rows: list[dict]) -> None:
        values = self.new_values(rows)
        if values:
            self.log_values(values)


def rows_on_disk(out_dir: Path) -> list[dict]:
    """metrics.csv's rows as numbers: at the finish, the rows that a stop lost on the way to the
    tracker (a resumed run that writes no new row would never send them again) are caught up."""
    try:
        with open(Path(out_dir) / METRICS_FILE, newline="") as f:
            return [{k: float(v) for k, v in row.items() if v not in ("", None)} for row in csv.DictReader(f)]
    except (OSError, ValueError):
        return []


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def run_key(config: dict) -> str:
    """The job's identity as a tracker run key: the settings that decide what it computes (seed
    included), without the execution-only ones and the resumable ones (more steps continue a run)."""
    settings = {k: v for k, v in identity(config).items() if k not in RESUMABLE_CHANGES}
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:32]


def params(config: dict) -> dict[str, str]:
    """The run's identity settings as tracker params (strings)."""
    return {k: json.dumps(v) if isinstance(v, (list, dict)) else str(v) for k, v in identity(config).items()}


def logger_name(cfg: DictConfig) -> str:
    return str(OmegaConf.select(cfg, "logger.name", default="none"))


def open_tracker(cfg: DictConfig, job: Job, label: str) -> Tracker:
    """The job's tracker: a no-op for logger=none, else the backend, guarded, in its own process.
    Refuses (ConfigError) a backend that is not installed; any other failure is the one warning line."""
    name = logger_name(cfg)
    if name == "none":
        return Tracker()
    if name not in BACKENDS:
        raise ConfigError(f"logger={name} is not a tracker; choose one of none, {', '.join(BACKENDS)}")
    module = importlib.import_module(f"sweeplab.trackers.{name}")
    module.require()  # a missing package: one line with the install command
    from sweeplab.trackers.process import Background

    logger, config = (OmegaConf.to_container(c, resolve=True) for c in (cfg.logger, cfg))
    # no process to be had (a process limit, no memory) is the same one warning line as any tracker fault
    return Guarded(name, label).attempt(lambda: Background(name, logger, config, job, label)) or Tracker()


def installed(*packages: str) -> bool:
    """Whether the packages can be imported, without importing them here (the tracker's process does)."""
    try:
        return all(importlib.util.find_spec(name) is not None for name in packages)
    except (ImportError, ValueError):  # ValueError: a module that sys.modules holds as None
        return False


def missing_extra(name: str, extra: str, packages: str) -> ConfigError:
    return ConfigError(
        f"logger={name} needs {packages}, which is not installed here; "
        f'install it with: pip install -e ".[{extra}]" (or pip install {packages})'
    )


class Guarded(Tracker):
    """A backend whose first failure is one warning line, after which this job logs nothing more."""

    def __init__(self, name: str, label: str):
        self.name, self.label = name, label
        self.tracker: Tracker | None = None

    def attempt(self, call):
        try:
            return call()
        except Exception as exc:  # a tracker's fault never reaches the training
            text = (str(exc).strip().splitlines() or [""])[0]
            log.warning(
                "logger=%s failed, this run goes on without it (its own files are complete): %s: %s",
                self.name, type(exc).__name__, text[:300],
            )  # fmt: skip
            self.tracker = None
            return None

    def log_rows(self, rows: list[dict]) -> None:
        if self.tracker is not None:
            self.attempt(lambda: self.tracker.log_rows(rows))

    def finish(self, summary: dict, settings: dict) -> None:
        if self.tracker is not None:
            self.attempt(lambda: self.tracker.finish(summary, settings))


def images(out_dir: Path) -> list[Path]:
    """The run's pictures for the tracker: curves.png, the GAN's sample grids and strips."""
    return sorted(Path(out_dir).glob("*.png"))
