"""The copy task, written only through the extension path (its folder, conf/, tests/, docs/): its
data, every recurrent model answering at every step (and lstm_triton refusing to), early stopping,
resume, the memory-length search and the report."""

import csv
import json

import pytest
import torch

from sweeplab.errors import ConfigError
from sweeplab.preflight import check_settings
from sweeplab.runner import run_job
from sweeplab.tasks.copy.data import random_sequences
from tests.conftest import TINY, compose_config

COPY = ["task=copy", *TINY, "data.alphabet=4", "data.length=3"]
# 3 symbols of 4 after a delay of 2: solved (accuracy >= 0.99) in about 400 steps
SOLVABLE = [*COPY, "seq_len=2", "trainer.steps=600", "trainer.batch_size=64", "model.hidden_size=32",
            "optim.lr=1e-2", "trainer.early_stop=true"]  # fmt: skip


def rows(run_dir):
    with open(run_dir / "metrics.csv") as f:
        return [{k: v for k, v in r.items() if k != "elapsed_s"} for r in csv.DictReader(f)]


def test_the_symbols_a_delay_the_delimiter_and_blanks_to_answer_in():
    inputs, targets = random_sequences(50, 3, 4, 5, torch.Generator().manual_seed(0), "cpu")
    tokens = inputs.argmax(-1)  # 5 symbols, blank 5, delimiter 6
    assert inputs.shape == (50, 2 * 3 + 4, 7) and (inputs.sum(-1) == 1).all()
    assert (tokens[:, :3] == targets).all() and (targets < 5).all()
    assert (tokens[:, 3:7] == 5).all() and (tokens[:, 7] == 6).all() and (tokens[:, 8:] == 5).all()


@pytest.mark.parametrize("model", ["rnn", "gru", "lstm", "lstm_cudnn"])
def test_every_recurrent_model_answers_at_every_step(tmp_path, model):
    summary = run_job(compose_config([*COPY, f"model={model}", "seq_len=3"]), tmp_path, [])
    assert summary["status"] == "completed" and summary["task"] == "copy" and summary["steps_done"] == 20
    assert list(rows(tmp_path)[0]) == ["step", "train_loss", "train_acc", "eval_loss", "eval_acc"]
    assert 0 <= summary["final_eval_acc"] <= 1 and summary["alphabet"] == 4 and summary["length"] == 3


def test_lstm_triton_refuses_in_one_line_before_any_run_dir():
    with pytest.raises(ConfigError, match=r"^model=lstm_triton returns the last step only, not outputs='all'"):
        check_settings(compose_config([*COPY, "model=lstm_triton"]))


def test_a_solved_run_stops_early_and_a_killed_one_resumes_to_the_same_result(tmp_path):
    full = run_job(compose_config(SOLVABLE), tmp_path / "full", [])
    stopped = full["early_stopped_at"]
    assert stopped is not None and stopped < 600 and full["final_eval_acc"] >= 0.99
    half = tmp_path / "half"
    run_job(compose_config([*SOLVABLE, f"trainer.steps={stopped - 20}"]), half, [])
    (half / "summary.json").unlink()  # as if killed: no finished summary, a checkpoint 20 steps short
    resumed = run_job(compose_config(SOLVABLE), half, [])
    assert resumed["early_stopped_at"] == stopped and rows(half) == rows(tmp_path / "full")


@pytest.mark.slow  # about 20 s: `pytest -m slow tests/tasks` (the default suite stays as fast as before)
def test_the_memory_length_search_and_its_report(tmp_path, cli):
    """`experiment=memory_length task=copy` (a threshold of 0.3 that short delays reach in 20 steps): the
    search runs as for the palindrome, and its report has the copy task's section."""
    sweep = tmp_path / "sweep"
    result = cli(["-m", "experiment=memory_length", *COPY, "hydra.sweeper.models=[rnn,lstm]",
                  "hydra.sweeper.t_min=2", "hydra.sweeper.t_max=8", "hydra.sweeper.budget=4",
                  "hydra.sweeper.threshold=0.3", "hydra.launcher.n_jobs=2", "+hydra.callbacks.analysis.make_plots=false",
                  f"hydra.sweep.dir={sweep}"], tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    with open(sweep / "search.csv") as f:
        probes = list(csv.DictReader(f))
    assert 0 < len(probes) <= 4 and {p["model"] for p in probes} == {"rnn", "lstm"}
    for probe in probes:
        summary = json.loads((sweep / probe["job"] / "summary.json").read_text())
        assert summary["task"] == "copy" and probe["final"] == str(summary["final_eval_acc"])
        assert probe["solved"] == str(summary["final_eval_acc"] >= 0.3)
    report = (sweep / "report.md").read_text()
    assert "## Copy: rnn vs lstm" in report and "final held-out per-symbol accuracy >= 0.99" in report
    assert (sweep / "tables" / "copy_memory_length.csv").is_file()
