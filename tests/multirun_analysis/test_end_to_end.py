"""One real tiny sweep with the training CLI, then the analysis command on it (subprocesses)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]


def _env() -> dict:
    env = dict(os.environ)
    # works before and after `pip install -e .`: the sources come first either way
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), str(REPO), env.get("PYTHONPATH", "")])
    env.setdefault("MPLBACKEND", "Agg")
    return env


def _have_training_cli() -> bool:
    if importlib.util.find_spec("sweeplab") is not None:
        return True
    return (REPO / "src" / "sweeplab" / "__main__.py").is_file()


@pytest.mark.slow
@pytest.mark.skipif(not _have_training_cli(), reason="the sweeplab training CLI (python -m sweeplab) is not there")
def test_real_tiny_sweep_analysed_end_to_end(tmp_path):
    sweep = tmp_path / "sweep"
    train = subprocess.run(
        [
            sys.executable,
            "-m",
            "sweeplab",
            "-m",
            "model=rnn,lstm",
            "seq_len=4",
            "trainer.steps=20",
            "trainer.eval_every=10",
            "data.eval_size=64",
            f"hydra.sweep.dir={sweep}",
        ],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert train.returncode == 0, train.stderr[-3000:]
    analyse = subprocess.run(
        [sys.executable, "-m", "multirun_analysis", str(sweep)],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert analyse.returncode == 0, analyse.stderr[-3000:]
    assert f"report written to {sweep / 'report.html'}" in analyse.stdout

    runs = pd.read_csv(sweep / "tables" / "runs.csv")
    assert list(runs["model"]) == ["rnn", "lstm"] and list(runs["job_num"]) == [0, 1]
    assert list(runs["status"]) == ["completed", "completed"]
    assert runs["final_eval_acc"].between(0, 1).all() and (runs["steps_done"] == 20).all()
    curves = pd.read_csv(sweep / "tables" / "curves.csv")
    assert sorted(curves.loc[curves["metric"] == "eval_acc", "step"].unique()) == [10, 20]
    table = pd.read_csv(sweep / "tables" / "final_eval_acc.csv")
    assert list(table.columns) == ["T", "rnn", "lstm"] and list(table["T"]) == [4]
    md = (sweep / "report.md").read_text()
    assert "rnn: mean accuracy >= 0.99" in md and "lstm: mean accuracy >= 0.99" in md
    assert "command-line overrides: `model=rnn,lstm` `seq_len=4`" in md
    assert "torch version: `" in md
    for png in ("accuracy_vs_T", "learning_curves", "loss_curves"):
        assert (sweep / "plots" / f"{png}.png").stat().st_size > 10_000
    assert "data:image/png;base64," in (sweep / "report.html").read_text()
