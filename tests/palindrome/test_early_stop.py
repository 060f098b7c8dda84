"""Early stopping: a run stops once solved on `patience` evaluations in a row, records where, and a
killed early-stopping run resumes to the same result."""

import csv
import json

from sweeplab.runner import run_job
from tests.conftest import TINY, compose_config

# T = 3 is solved within a few dozen steps: the run has something to stop early.
SOLVABLE = [*TINY, "seq_len=3", "trainer.steps=400", "trainer.eval_every=10", "trainer.checkpoint_every=10",
            "trainer.batch_size=64", "model.hidden_size=32", "optim.lr=1e-2", "trainer.early_stop=true"]  # fmt: skip


def rows(run_dir):
    with open(run_dir / "metrics.csv") as f:
        return list(csv.DictReader(f))


def test_a_solved_run_stops_after_patience_evaluations_and_says_where(tmp_path):
    summary = run_job(compose_config([*SOLVABLE, "trainer.patience=2"]), tmp_path, [])
    stopped = summary["early_stopped_at"]
    assert summary["status"] == "completed" and stopped is not None and stopped < 400
    accuracies = [float(r["eval_acc"]) for r in rows(tmp_path)]
    assert int(rows(tmp_path)[-1]["step"]) == stopped == summary["steps_done"]  # metrics.csv ends there
    assert all(a >= 0.99 for a in accuracies[-2:])  # solved twice in a row, and not before
    assert len(accuracies) == 2 or accuracies[-3] < 0.99
    assert summary["final_eval_acc"] >= 0.99


def test_without_early_stop_the_same_run_trains_every_step(tmp_path):
    summary = run_job(compose_config([*SOLVABLE, "trainer.early_stop=false"]), tmp_path, [])
    assert summary["early_stopped_at"] is None and summary["steps_done"] == 400


def test_an_unsolved_run_is_never_stopped(tmp_path):
    summary = run_job(compose_config([*TINY, "seq_len=30", "trainer.early_stop=true"]), tmp_path, [])
    assert summary["early_stopped_at"] is None and summary["steps_done"] == 20


def test_a_killed_early_stopping_run_resumes_to_the_same_result(tmp_path):
    full = run_job(compose_config(SOLVABLE), tmp_path / "full", [])
    stopped = full["early_stopped_at"]
    half = tmp_path / "half"
    # The same run cut off before it stopped: its last checkpoint is an earlier step.
    run_job(compose_config([*SOLVABLE, f"trainer.steps={stopped - 10}"]), half, [])
    (half / "summary.json").unlink()  # as if killed: no finished summary
    resumed = run_job(compose_config(SOLVABLE), half, [])
    assert resumed["early_stopped_at"] == stopped
    strip = lambda rs: [{k: v for k, v in r.items() if k != "elapsed_s"} for r in rs]  # noqa: E731
    assert strip(rows(half)) == strip(rows(tmp_path / "full"))
    assert json.loads((half / "summary.json").read_text())["final_eval_acc"] == full["final_eval_acc"]
