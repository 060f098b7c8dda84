"""One real tiny sweep with the training CLI, then the analysis command and a diff on it (subprocesses)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]
TINY = ["trainer.steps=20", "trainer.eval_every=10", "trainer.checkpoint_every=10", "trainer.batch_size=16",
        "data.eval_size=100", "model.hidden_size=16", "trainer.device=cpu"]  # fmt: skip


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), str(REPO), env.get("PYTHONPATH", "")])
    env.setdefault("MPLBACKEND", "Agg")
    return env


def _run(args: list[str], cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], cwd=cwd, env=_env(), capture_output=True, text=True,
                          timeout=timeout, check=False)  # fmt: skip


@pytest.mark.slow
def test_real_tiny_sweep_analysed_and_diffed(tmp_path):
    sweep = tmp_path / "sweep"
    train = _run(["sweeplab", "-m", "model=rnn,lstm", "seq_len=3", *TINY, f"hydra.sweep.dir={sweep}"], tmp_path)
    assert train.returncode == 0, train.stderr[-3000:]
    analyse = _run(["multirun_analysis", str(sweep)], tmp_path, timeout=120)
    assert analyse.returncode == 0, analyse.stderr[-3000:]
    assert f"report written to {sweep / 'report.html'}" in analyse.stdout

    runs = pd.read_csv(sweep / "tables" / "runs.csv")
    assert list(runs["model"]) == ["rnn", "lstm"] and list(runs["status"]) == ["completed", "completed"]
    assert runs["final_eval_acc"].between(0, 1).all()
    success = pd.read_csv(sweep / "tables" / "success_rate.csv")
    assert list(success["model"]) == ["rnn", "lstm"] and list(success["n"]) == [1, 1]
    memory = pd.read_csv(sweep / "tables" / "memory_length.csv")
    assert set(memory["censored"]) <= {"above", "below"}  # one length tested: censored either way
    md = (sweep / "report.md").read_text()
    assert "2 jobs planned by 1 sweep: 2 completed." in md
    assert "- git commit: `" in md or "recorded no provenance" in md
    for png in ("success_rate", "learning_curves", "loss_curves"):
        assert (sweep / "plots" / f"{png}.png").stat().st_size > 10_000

    diff = _run(["multirun_analysis", "diff", str(sweep), str(sweep), "--out", str(tmp_path / "cmp")], tmp_path)
    assert diff.returncode == 0, diff.stderr[-3000:]
    assert "**0 improvement(s)** and **0 regression(s)**" in (tmp_path / "cmp" / "diff.md").read_text()
