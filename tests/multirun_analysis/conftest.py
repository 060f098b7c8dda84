"""Hand-built sweeps whose answers are worked out in the tests (tests/helpers/analysis_sweeps.py writes them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import analysis_sweeps as sw
from tests.helpers.analysis_sweeps import KNOWN_PARAMS, known_outcome


@pytest.fixture
def known_sweep(tmp_path) -> Path:
    return sw.write_grid_sweep(tmp_path / "multirun" / "2024-05-01" / "10-00-00-000000", KNOWN_PARAMS, known_outcome)


@pytest.fixture(scope="module")
def known_sweep_once(tmp_path_factory) -> Path:
    return sw.write_grid_sweep(tmp_path_factory.mktemp("known") / "sweep", KNOWN_PARAMS, known_outcome)


# The partial sweep of the issue: 30 planned jobs (2 models x 5 lengths x 3 seeds); the RNN's 15 and
# the LSTM's T = 10 finished, two LSTM T = 15 jobs running (summary says step 0, metrics.csv reached
# 4000 of 5000), 10 jobs not started.
PARTIAL_PARAMS = {"model": ["rnn", "lstm"], "seq_len": [10, 15, 20, 25, 30], "seed": [0, 1, 2]}


def partial_outcome(point: dict) -> dict:
    if point["model"] == "rnn":
        return {"final": 1.0 if point["seq_len"] <= 15 else 0.15}
    if point["seq_len"] == 10:
        return {"final": 1.0}
    return {"status": "running", "steps_done": 0, "metrics_until": 4000, "final": 0.6}


@pytest.fixture
def partial_sweep(tmp_path) -> Path:
    return sw.write_grid_sweep(tmp_path / "partial", PARTIAL_PARAMS, partial_outcome, skip=range(20, 30),
                               steps=5000, eval_every=250)  # fmt: skip


@pytest.fixture
def messy_sweep(tmp_path) -> Path:
    """12 jobs: failed, diverged, running, no summary, corrupt summary, corrupt metrics, completed ones."""
    sweep = tmp_path / "messy"
    sw.write_multirun_yaml(sweep, {"model": "rnn,lstm", "seq_len": "5,10", "seed": "0,1,2"})
    jobs = [{"model": "rnn", "seq_len": 5, "seed": s, "final": 0.9} for s in range(3)]
    jobs += [{"model": "rnn", "seq_len": 10, "seed": 0, "status": "failed", "error": "RuntimeError: boom"},
             {"model": "rnn", "seq_len": 10, "seed": 1, "status": "diverged"},
             {"model": "rnn", "seq_len": 10, "seed": 2, "status": "running"}]  # fmt: skip
    jobs += [{"model": "lstm", "seq_len": 5, "seed": s, "final": 1.0} for s in range(3)]
    jobs += [{"model": "lstm", "seq_len": 10, "seed": 0, "summary": False},
             {"model": "lstm", "seq_len": 10, "seed": 1, "corrupt_summary": True},
             {"model": "lstm", "seq_len": 10, "seed": 2, "final": 0.995, "corrupt_metrics": True}]  # fmt: skip
    for num, job in enumerate(jobs):
        sw.write_job(sweep, num, **job)
    return sweep


@pytest.fixture
def two_sweeps(tmp_path) -> Path:
    """multirun/ with two sweeps: T=5 on one day, T=10 on the next (same job numbers)."""
    root = tmp_path / "multirun"
    for day, t in (("2024-05-01", 5), ("2024-05-02", 10)):
        sw.write_grid_sweep(root / day / "09-00-00-000000", {"model": ["rnn", "lstm"], "seed": [0, 1]},
                            lambda p: {"final": 1.0 if p["model"] == "lstm" else 0.5 + 0.1 * p["seed"]},
                            task_overrides=[f"seq_len={t}"], seq_len=t)  # fmt: skip
    return root
