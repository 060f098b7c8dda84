"""logger=mlflow: one MLflow run per job, found again by the job's identity tag after a resume.

The store is `logger.tracking_uri`, or by default a sqlite file in the sweep dir (a single run: its
run dir), `mlflow.db`, with the artifacts beside it in `mlartifacts/`: nothing lands in the current
directory. `mlflow ui --backend-store-uri sqlite:///SWEEP_DIR/mlflow.db` shows the sweep.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import sqlite3
import time
from pathlib import Path
from urllib.parse import unquote

from omegaconf import DictConfig

from sweeplab.job import Job
from sweeplab.trackers import Backend, images, installed, missing_extra, params, rows_on_disk, run_key

STORE_FILE = "mlflow.db"
ARTIFACTS_DIR = "mlartifacts"
IDENTITY_TAG = "sweeplab.identity"
BATCH = 100  # MLflow's limit of params per log_batch call (metrics: 1000)


def require() -> None:
    if not installed("mlflow", "sqlalchemy", "alembic"):
        raise missing_extra("mlflow", "mlflow", "mlflow-skinny (with sqlalchemy and alembic)")


def open(logger: DictConfig, config: dict, job: Job, label: str) -> MlflowRun:
    # A server that is down costs a few seconds, not MLflow's default minutes of retries.
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
    # MLflow 3 reports its usage to its makers from background threads unless told not to: a run that
    # logs to a local file makes no network calls (MLFLOW_DISABLE_TELEMETRY=false turns it back on).
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    from mlflow.tracking import MlflowClient

    for name in ("mlflow", "alembic"):  # their INFO lines about creating tables would fill every job's log
        logging.getLogger(name).setLevel(logging.WARNING)  # after the import, which sets mlflow's to INFO
    logging.getLogger("urllib3").setLevel(logging.ERROR)  # its retry line would come before our one warning line

    uri = logger.get("tracking_uri") or f"sqlite:///{store_dir(job).resolve() / STORE_FILE}"
    db = sqlite_path(uri)
    with store_lock(db):  # parallel jobs creating the same store and experiment take turns
        client = MlflowClient(tracking_uri=uri)
        experiment = client.get_experiment_by_name(logger.experiment_name)
        if experiment is None:
            artifacts = (db.parent / ARTIFACTS_DIR).as_uri() if db else None  # a server chooses its own
            experiment_id = client.create_experiment(logger.experiment_name, artifact_location=artifacts)
        else:
            experiment_id = experiment.experiment_id
        key = run_key(config)
        found = client.search_runs([experiment_id], filter_string=f"tags.`{IDENTITY_TAG}` = '{key}'", max_results=1)
        if found:
            run_id = found[0].info.run_id
            client.update_run(run_id, status="RUNNING")
        else:
            tags = {IDENTITY_TAG: key, "sweeplab.task": str(config.get("task")), "sweeplab.run_dir": str(job.out_dir)}
            if job.multirun:  # sweep membership: filter by it in the UI (tags.`sweeplab.sweep` = '...')
                tags["sweeplab.sweep"] = str(job.out_dir.resolve().parent)
            run_id = client.create_run(experiment_id, tags=tags, run_name=label).info.run_id
            log_params(client, run_id, params(config))
    return MlflowRun(client, run_id, job.out_dir)


def store_dir(job: Job) -> Path:
    """The sweep dir for a sweep's job (one store per sweep), the run dir for a single run."""
    return job.out_dir.parent if job.multirun else job.out_dir


def sqlite_path(uri: str) -> Path | None:
    """The database file of a sqlite URI, checked to open (MLflow itself would retry for minutes)."""
    if not uri.startswith("sqlite:///"):
        return None
    path = Path(unquote(uri[len("sqlite:///") :].split("?")[0])).absolute()  # sqlite:////abs, sqlite:///relative
    path.parent.mkdir(parents=True, exist_ok=True)
    sqlite3.connect(path).close()
    return path


@contextlib.contextmanager
def store_lock(db: Path | None):
    if db is None:
        yield
        return
    fd = os.open(db.with_name(db.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def log_params(client, run_id: str, values: dict[str, str]) -> None:
    from mlflow.entities import Param

    items = [Param(k, v) for k, v in values.items()]
    for start in range(0, len(items), BATCH):
        client.log_batch(run_id, params=items[start : start + BATCH])


def last_steps(client, run_id: str) -> dict[str, int]:
    """The last step MLflow holds for each metric of the run."""
    run = client.get_run(run_id)
    return {name: max(m.step for m in client.get_metric_history(run_id, name)) for name in run.data.metrics}


class MlflowRun(Backend):
    def __init__(self, client, run_id: str, out_dir: Path):
        super().__init__(last_steps(client, run_id))
        self.client, self.run_id, self.out_dir = client, run_id, out_dir

    def log_values(self, values: list[tuple[str, float, int]]) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        metrics = [Metric(name, value, now, step) for name, value, step in values]
        for start in range(0, len(metrics), 10 * BATCH):
            self.client.log_batch(self.run_id, metrics=metrics[start : start + 10 * BATCH])

    def finish(self, summary: dict, settings: dict) -> None:
        self.log_rows(rows_on_disk(self.out_dir))
        values = self.summary_values(summary, settings)
        if values:
            self.log_values(values)
        for image in images(self.out_dir):  # the same name again replaces the file: no duplicates
            self.client.log_artifact(self.run_id, str(image))
        status = str(summary.get("status"))
        self.client.set_tag(self.run_id, "sweeplab.status", status)
        self.client.set_terminated(self.run_id, "FINISHED" if status in ("completed", "diverged") else "FAILED")
