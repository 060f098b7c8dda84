"""The adding problem, written only through the extension path (its folder, conf/, tests/, docs/):
its data, every recurrent model, early stopping, resume, the memory-length search and the report."""

import csv
import json

import pytest
import torch

from sweeplab.runner import run_job
from sweeplab.tasks.adding.data import AddingData, random_sequences
from tests.conftest import TINY, compose_config

ADDING = ["task=adding", *TINY]
# T = 3 reaches MSE <= 0.01 in about 300 steps: something to stop early
SOLVABLE = [*ADDING, "seq_len=3", "trainer.steps=400", "trainer.batch_size=64", "model.hidden_size=32",
            "optim.lr=1e-2", "trainer.early_stop=true"]  # fmt: skip


def rows(run_dir):
    with open(run_dir / "metrics.csv") as f:
        return [{k: v for k, v in r.items() if k != "elapsed_s"} for r in csv.DictReader(f)]


def test_two_steps_are_marked_one_in_each_half_and_the_target_is_their_sum():
    inputs, targets = random_sequences(500, 7, torch.Generator().manual_seed(0), torch.device("cpu"))
    values, markers = inputs[..., 0], inputs[..., 1]
    assert inputs.shape == (500, 7, 2) and ((values >= 0) & (values < 1)).all()
    assert (markers.sum(1) == 2).all() and (markers[:, :3].sum(1) == 1).all()  # 7 // 2 = 3: one in steps 0-2
    torch.testing.assert_close(targets, (values * markers).sum(1))


def test_predicting_the_constant_one_scores_the_sums_variance():
    data = AddingData(20, seed=0, eval_size=50_000, eval_seed=1, device=torch.device("cpu"))
    mse = ((data.eval_targets - 1) ** 2).mean().item()
    assert mse == pytest.approx(2 / 12, abs=0.005)  # the 0.167 that the solved threshold 0.01 is far below


@pytest.mark.parametrize("model", ["rnn", "gru", "lstm", "lstm_cudnn"])
def test_every_recurrent_model_trains_on_it(tmp_path, model):
    summary = run_job(compose_config([*ADDING, f"model={model}", "seq_len=4"]), tmp_path, [])
    assert summary["status"] == "completed" and summary["task"] == "adding" and summary["steps_done"] == 20
    assert list(rows(tmp_path)[0]) == ["step", "train_mse", "eval_mse"]
    assert summary["final_eval_mse"] == float(rows(tmp_path)[-1]["eval_mse"]) > 0
    assert ("forget_bias" in summary) == model.startswith("lstm") and (tmp_path / "curves.png").is_file()


def test_a_solved_run_stops_early_and_a_killed_one_resumes_to_the_same_result(tmp_path):
    full = run_job(compose_config(SOLVABLE), tmp_path / "full", [])
    stopped = full["early_stopped_at"]
    assert stopped is not None and stopped < 400 and full["final_eval_mse"] <= 0.01
    assert full["step_solved"] <= stopped
    half = tmp_path / "half"
    run_job(compose_config([*SOLVABLE, f"trainer.steps={stopped - 20}"]), half, [])
    (half / "summary.json").unlink()  # as if killed: no finished summary, a checkpoint 20 steps short
    resumed = run_job(compose_config(SOLVABLE), half, [])
    assert resumed["early_stopped_at"] == stopped and rows(half) == rows(tmp_path / "full")


@pytest.mark.slow  # about 20 s: `pytest -m slow tests/tasks` (the default suite stays as fast as before)
def test_the_memory_length_search_and_its_report(tmp_path, cli):
    """`experiment=memory_length task=adding` (a threshold of MSE 0.12 that short runs reach in 20 steps):
    the search runs as for the palindrome, and its report has the adding problem's section."""
    sweep = tmp_path / "sweep"
    result = cli(["-m", "experiment=memory_length", "task=adding", *TINY, "hydra.sweeper.models=[rnn,lstm]",
                  "hydra.sweeper.t_min=2", "hydra.sweeper.t_max=8", "hydra.sweeper.budget=4",
                  "hydra.sweeper.threshold=0.12", "hydra.launcher.n_jobs=2", "+hydra.callbacks.analysis.make_plots=false",
                  f"hydra.sweep.dir={sweep}"], tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    with open(sweep / "search.csv") as f:
        probes = list(csv.DictReader(f))
    assert 0 < len(probes) <= 4 and {p["model"] for p in probes} == {"rnn", "lstm"}
    for probe in probes:
        summary = json.loads((sweep / probe["job"] / "summary.json").read_text())
        assert summary["task"] == "adding" and probe["final"] == str(summary["final_eval_mse"])
        assert probe["solved"] == str(summary["final_eval_mse"] <= 0.12)
    report = (sweep / "report.md").read_text()
    assert "## Adding: rnn vs lstm" in report and "final held-out MSE <= 0.01" in report  # the task's own rule
    assert (sweep / "tables" / "adding_memory_length.csv").is_file()
