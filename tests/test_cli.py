"""The real command line, in a subprocess, on a tmp dir: single runs, sweeps, bad input."""

import csv
import json

import pytest

from tests.conftest import TINY

ARTIFACTS = ["metrics.csv", "summary.json", "curves.png", "checkpoint.pt", "sweeplab.log"]
METRIC_COLUMNS = ["step", "train_loss", "train_acc", "eval_loss", "eval_acc", "elapsed_s"]


def read_metrics(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def check_run_dir(run_dir, model, seq_len):
    for name in ARTIFACTS:
        assert (run_dir / name).is_file(), f"{name} missing in {run_dir}"
    assert (run_dir / ".hydra" / "config.yaml").is_file()
    assert (run_dir / ".hydra" / "overrides.yaml").is_file()
    assert not list(run_dir.glob(".*.tmp")), "a temporary file was left behind"
    rows = read_metrics(run_dir / "metrics.csv")
    assert list(rows[0]) == METRIC_COLUMNS
    assert [int(r["step"]) for r in rows] == [10, 20]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "completed"
    assert (summary["model"], summary["seq_len"], summary["task"]) == (model, seq_len, "palindrome")
    assert summary["steps_done"] == 20
    assert summary["final_eval_acc"] == pytest.approx(float(rows[-1]["eval_acc"]))
    assert summary["best_eval_acc"] == pytest.approx(max(float(r["eval_acc"]) for r in rows))
    assert summary["device"] == "cpu"
    assert summary["n_params"] > 0 and summary["steps_per_s"] > 0
    assert summary["error"] is None
    assert f"seq_len={seq_len}" in summary["overrides"]
    assert (run_dir / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return summary


def test_single_run_writes_every_artifact_and_another_config_cannot_touch_them(cli, tmp_path):
    run_dir = tmp_path / "run"
    args = ["model=rnn", *TINY, f"hydra.run.dir={run_dir}"]
    result = cli([*args, "seq_len=7", "optim.lr=1e-3"], tmp_path)
    assert result.returncode == 0, result.stderr
    check_run_dir(run_dir, "rnn", 7)
    import torch

    checkpoint = torch.load(run_dir / "checkpoint.pt", weights_only=False)
    assert checkpoint["step"] == 20
    assert {"model", "optimizer", "rng", "config"} <= set(checkpoint)
    assert checkpoint["config"]["seq_len"] == 7
    assert not (tmp_path / "outputs").exists() or any((tmp_path / "outputs").iterdir()) is False

    # Another config into the same dir is refused before Hydra writes anything, .hydra/ included.
    before = {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file() and p.name != "sweeplab.log"}
    again = cli([*args, "seq_len=8"], tmp_path)
    assert again.returncode != 0
    assert "already holds a run of another config" in again.stderr and "Traceback" not in again.stderr
    assert {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file() and p.name != "sweeplab.log"} == before
    # The same run with another thread count is kept as it is, .hydra/ included.
    again = cli([*args, "seq_len=7", "optim.lr=1e-3", "trainer.num_threads=2"], tmp_path)
    assert again.returncode == 0, again.stderr
    assert "already holds a completed run: kept as it is" in (run_dir / "sweeplab.log").read_text()
    assert {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file() and p.name != "sweeplab.log"} == before


def test_multirun_writes_every_job_dir(cli, tmp_path):
    sweep = tmp_path / "sweep"
    result = cli(["-m", "model=rnn,lstm", "seq_len=4,6", *TINY, f"hydra.sweep.dir={sweep}"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert (sweep / "multirun.yaml").is_file()
    seen = set()
    for job in range(4):
        summary = check_run_dir(sweep / str(job), *_model_and_len(sweep / str(job)))
        seen.add((summary["model"], summary["seq_len"]))
    assert seen == {("rnn", 4), ("rnn", 6), ("lstm", 4), ("lstm", 6)}


def _model_and_len(job_dir):
    overrides = (job_dir / ".hydra" / "overrides.yaml").read_text()
    model = "lstm" if "model=lstm" in overrides else "rnn"
    seq_len = 4 if "seq_len=4" in overrides else 6
    return model, seq_len


def test_a_failing_job_loses_nothing_else(cli, tmp_path):
    """A job refused where it runs (its memory estimate: the sweep checks settings, not machines) is
    recorded `failed` with its one line, for the report; the other job runs."""
    sweep = tmp_path / "sweep"
    result = cli(["-m", "seq_len=10000000,5", *TINY, f"hydra.sweep.dir={sweep}"], tmp_path)
    assert result.returncode != 0  # the sweep says there were failures
    assert "Traceback" not in result.stderr
    failed = json.loads((sweep / "0" / "summary.json").read_text())
    assert failed["status"] == "failed"
    assert "seq_len=10000000" in failed["error"] and failed["config"]["seq_len"] == 10000000
    completed = json.loads((sweep / "1" / "summary.json").read_text())
    assert completed["status"] == "completed"
    assert (sweep / "1" / "metrics.csv").is_file()


# The full list of rejected values is checked in-process in test_config.py; these go through the CLI
# to show what a user sees: one line, a non-zero exit, no traceback.
BAD_INPUT = [
    (["seq_len=1"], "seq_len=1 is not allowed; it must be an integer >= 2"),
    (["model=no_such_model"], "Could not find 'model/no_such_model'"),
    (["trainer.device=cuda"], "trainer.device=cuda but no CUDA GPU is available"),
]


@pytest.mark.parametrize("args,message", BAD_INPUT, ids=[a[0] for a, _ in BAD_INPUT])
def test_bad_input_gives_one_clear_line_and_a_nonzero_exit(cli, tmp_path, args, message):
    import torch

    if args == ["trainer.device=cuda"] and torch.cuda.is_available():
        pytest.skip("a GPU is present")
    result = cli([*args, f"hydra.run.dir={tmp_path / 'run'}"], tmp_path)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.parametrize(
    "env,expected",
    [
        ({"XDG_CACHE_HOME": "/somewhere/cache", "HOME": "/home/u"}, "/somewhere/cache"),
        ({"XDG_CACHE_HOME": "", "HOME": "/home/u"}, "/home/u/.cache"),
        ({"XDG_CACHE_HOME": "relative/cache", "HOME": "/home/u"}, "/home/u/.cache"),  # the XDG spec: ignored
    ],
)
def test_the_cache_home_follows_the_xdg_spec(monkeypatch, env, expected):
    from sweeplab.paths import cache_home

    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert cache_home() == expected


def test_an_empty_home_never_caches_under_the_root(monkeypatch):
    from sweeplab.paths import cache_home

    monkeypatch.setenv("HOME", "")
    monkeypatch.setenv("XDG_CACHE_HOME", "")
    assert cache_home() != "/.cache" and cache_home().endswith(".cache")
