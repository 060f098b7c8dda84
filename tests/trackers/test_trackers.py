"""Experiment trackers (sweeplab.trackers) and Hydra's Optuna sweeper, through the real CLI.

Exactly once: a job killed right after its tracker logged a row that lies beyond its last checkpoint
recomputes that row when resumed; the tracker must hold it once, equal to metrics.csv. A tracker that
fails is one warning line per job and the jobs complete."""

import json
import logging
import math
import os
import signal
import subprocess
import sys

import pytest
import yaml
from omegaconf import OmegaConf

from sweeplab.errors import ConfigError
from sweeplab.runner import run_job
from sweeplab.trackers import run_key
from tests.conftest import TINY, compose_config
from tests.scaleout.helpers import ENV, REPO, outliving, status
from tests.trackers.kill_after_row import kill_after_row
from tests.trackers.rows import COLUMNS, assert_same, csv_rows, mlflow_rows, tracker_rows

# 30 steps, a row every 5, a checkpoint every 10: a kill after the row of step 15 resumes from 10.
SETTINGS = [
    *[o for o in TINY if not o.startswith(("trainer.steps=", "trainer.eval_every=", "trainer.checkpoint_every="))],
    "trainer.steps=30",
    "trainer.eval_every=5",
    "trainer.checkpoint_every=10",
    "seq_len=5",
    "model=rnn",
]
KILLED_AT = 15


def test_tensorboard_holds_each_metrics_row_once_after_a_kill_and_resume(tmp_path, cli):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from sweeplab.trackers.tensorboard import last_steps

    run_dir = tmp_path / "run"
    args = [*SETTINGS, "logger=tensorboard", f"hydra.run.dir={run_dir}"]
    killed = cli([*args, *kill_after_row(KILLED_AT)], cwd=tmp_path, env_extra=ENV)
    assert killed.returncode < 0 and status(run_dir) == "running", killed.stderr
    assert last_steps(run_dir)["eval_acc"] == KILLED_AT  # logged beyond the checkpoint of step 10
    resumed = cli(args, cwd=tmp_path, env_extra=ENV)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming from" in (run_dir / "sweeplab.log").read_text()  # from step 10: row 15 comes again
    events = sorted(run_dir.glob("events.out.tfevents.*"))
    assert len(events) == 2  # the killed process's and the resumed one's

    expected = csv_rows(run_dir)
    assert sorted(expected) == list(range(5, 31, 5))
    accumulator = EventAccumulator(str(run_dir))
    accumulator.Reload()
    series = {name: [(e.step, e.value) for e in accumulator.Scalars(name)] for name in COLUMNS}
    assert_same(tracker_rows(series, COLUMNS), expected, rel=1e-6)  # TensorBoard keeps float32
    assert accumulator.Scalars("final_eval_acc")[0].step == 30
    assert "curves" in accumulator.Tags()["images"]

    again = run_job(compose_config([*SETTINGS, "logger=tensorboard"]), run_dir, [])  # finished: skipped
    assert again["status"] == "completed"
    assert sorted(run_dir.glob("events.out.tfevents.*")) == events  # nothing logged


def test_mlflow_sweep_with_a_killed_job_rerun_holds_one_run_per_job_with_its_rows(tmp_path, cli):
    import mlflow

    sweep = tmp_path / "sweep"
    args = ["-m", *SETTINGS, "seed=0,1", "logger=mlflow", f"hydra.sweep.dir={sweep}"]
    killed = cli([*args, *kill_after_row(KILLED_AT, job=1)], cwd=tmp_path, env_extra=ENV)
    assert killed.returncode < 0 and status(sweep / "1") == "running", killed.stderr
    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{sweep / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("sweeplab")
    (victim,) = [r for r in client.search_runs([experiment.experiment_id]) if r.data.params["seed"] == "1"]
    assert max(m.step for m in client.get_metric_history(victim.info.run_id, "eval_acc")) == KILLED_AT
    rerun = cli(args, cwd=tmp_path, env_extra=ENV)
    assert rerun.returncode == 0, rerun.stderr
    assert [status(sweep / job) for job in ("0", "1")] == ["completed", "completed"]

    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 2
    by_seed = {run.data.params["seed"]: run for run in runs}
    for seed, job in (("0", "0"), ("1", "1")):
        run = by_seed[seed]
        assert run.info.status == "FINISHED" and run.data.tags["sweeplab.sweep"] == str(sweep.resolve())
        assert "trainer.num_threads" not in run.data.params and "logger.name" not in run.data.params
        assert_same(mlflow_rows(client, run.info.run_id), csv_rows(sweep / job), rel=0)
        summary = json.loads((sweep / job / "summary.json").read_text())
        assert run.data.metrics["final_eval_acc"] == summary["final_eval_acc"]
        assert [a.path for a in client.list_artifacts(run.info.run_id)] == ["curves.png"]
    assert (sweep / "mlartifacts").is_dir() and not (tmp_path / "mlruns").exists()


def test_an_unwritable_store_is_one_warning_per_job_and_every_job_completes(tmp_path, caplog):
    in_the_way = tmp_path / "a_file"
    in_the_way.write_text("not a directory\n")
    uri = f"logger.tracking_uri=sqlite:///{in_the_way / 'mlflow.db'}"
    for seed in (0, 1):
        job_dir = tmp_path / "sweep" / str(seed)
        with caplog.at_level(logging.WARNING, logger="sweeplab"):
            summary = run_job(compose_config([*SETTINGS, "logger=mlflow", uri, f"seed={seed}"]), job_dir, [])
        assert summary["status"] == "completed"
        assert len(csv_rows(job_dir)) == 6 and (job_dir / "curves.png").exists()
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 2 and all("logger=mlflow failed" in w and str(in_the_way) in w for w in warnings)


def test_a_missing_tracker_package_is_refused_in_one_line_with_the_install_command(monkeypatch):
    from sweeplab.trackers import mlflow as backend

    monkeypatch.setitem(__import__("sys").modules, "mlflow", None)  # `import mlflow` raises ImportError
    with pytest.raises(ConfigError) as refused:
        backend.require()
    assert 'pip install -e ".[mlflow]"' in str(refused.value) and "\n" not in str(refused.value)


def test_the_tracker_run_key_is_the_jobs_identity():
    def key(*overrides):
        return run_key(OmegaConf.to_container(compose_config([*overrides]), resolve=True))

    base = key()
    assert key("logger=mlflow", "trainer.num_threads=2") == base  # execution-only settings
    assert key("trainer.steps=9000") == base  # more steps continue the same run from its checkpoint
    assert key("seed=1") != base and key("seq_len=21") != base and key("+tag=b") != base


def test_an_optuna_sweep_runs_end_to_end_and_its_best_trial_is_the_best_summary(tmp_path, cli):
    sweep = tmp_path / "tune"
    args = [
        "-m",
        "experiment=tune_rnn",
        *SETTINGS,
        "hydra.sweeper.n_trials=3",
        "hydra.sweeper.n_jobs=1",
        "hydra.sweeper.sampler.n_startup_trials=3",
        f"hydra.sweep.dir={sweep}",
    ]
    result = cli(args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    best = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    summaries = [json.loads((sweep / str(job) / "summary.json").read_text()) for job in range(3)]
    assert all(s["status"] == "completed" for s in summaries)
    top = max(summaries, key=lambda s: s["final_eval_acc"])
    assert best["best_value"] == top["final_eval_acc"]
    assert math.isclose(best["best_params"]["optim.lr"], top["lr"])
    assert best["best_params"]["model.init"] == top["config"]["model"]["init"]


def test_the_tracker_benchmark_times_a_tracker_on_its_own(capsys):
    from bench.trackers import main

    main(["--alone", "--loggers", "tensorboard"])  # the whole-run comparison is two training processes
    (line,) = capsys.readouterr().out.splitlines()
    assert line.startswith("logger=tensorboard on its own (open, 20 rows, finish): ") and "s CPU" in line


def test_rows_that_never_reached_the_tracker_are_caught_up_once_at_the_finish(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from torch.utils.tensorboard import SummaryWriter

    from sweeplab.trackers.tensorboard import TensorBoardRun, last_steps

    (tmp_path / "metrics.csv").write_text("step,eval_acc,elapsed_s\n5,0.25,1.0\n10,0.5,2.0\n")
    # the tracker holds step 5; the row of step 10 was lost on its way (a stop), no new row followed
    run = TensorBoardRun(SummaryWriter(log_dir=str(tmp_path)), {"eval_acc": 5}, tmp_path)
    run.finish({"status": "completed", "steps_done": 10, "final_eval_acc": 0.5}, settings={})
    assert last_steps(tmp_path) == {"eval_acc": 10, "final_eval_acc": 10, "steps_done": 10}
    accumulator = EventAccumulator(str(tmp_path))
    accumulator.Reload()
    assert [(e.step, e.value) for e in accumulator.Scalars("eval_acc")] == [(10, 0.5)]  # not step 5 again


TRACKER_THEN_SIGKILL = """
import os, signal, sys
from pathlib import Path
from sweeplab.job import Job
from sweeplab.trackers import open_tracker
from tests.conftest import compose_config

tracker = open_tracker(compose_config(["logger=tensorboard"]), Job(Path(sys.argv[1])), "orphan")
tracker.log_rows([{"step": 1, "train_loss": 1.0}])
tracker.drain()
print(tracker.child.pid, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_the_tracker_process_ends_with_the_training_process_however_it_dies(tmp_path):
    """The tracker runs in a process of its own (off the training's GIL). A training process that is
    SIGKILLed (OOM killer, scheduler) cannot tell it to stop: it must end by itself, not linger."""
    result = subprocess.run(
        [sys.executable, "-c", TRACKER_THEN_SIGKILL, str(tmp_path)],
        cwd=REPO, env={**os.environ, **ENV}, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert result.returncode == -signal.SIGKILL, result.stderr[-2000:]
    child = int(result.stdout.split()[-1])
    assert not outliving({child}, seconds=10), "the tracker process outlived its training process"
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
