"""Training in-process: learning, resuming from a checkpoint, divergence."""

import json

import pytest
import torch

from sweeplab.runner import run_job
from tests.conftest import TINY, compose_config


def metrics_without_time(path):
    """metrics.csv's lines without the last column, elapsed_s."""
    return [line.rsplit(",", 1)[0] for line in path.read_text().splitlines()]


def test_lstm_learns_t5(tmp_path):
    cfg = compose_config(
        [
            "model=lstm",
            "seq_len=5",
            "trainer.steps=300",
            "trainer.eval_every=100",
            "trainer.batch_size=64",
            "model.hidden_size=64",
            "trainer.device=cpu",
            "data.eval_size=500",
        ]
    )
    summary = run_job(cfg, tmp_path, [])
    assert summary["status"] == "completed"
    assert summary["final_eval_acc"] >= 0.95


def test_same_seed_gives_the_same_metrics(tmp_path):
    cfg = compose_config(["model=lstm", "seq_len=6", "seed=3", *TINY])
    run_job(cfg, tmp_path / "a", [])
    run_job(cfg, tmp_path / "b", [])
    run_job(compose_config(["model=lstm", "seq_len=6", "seed=4", *TINY]), tmp_path / "c", [])
    a, b, c = (metrics_without_time(tmp_path / name / "metrics.csv") for name in "abc")
    assert a == b
    assert a[1:] != c[1:]  # another seed, other numbers


def test_rerunning_a_completed_run_dir_keeps_it(tmp_path, caplog):
    from sweeplab.errors import ConfigError

    run_job(compose_config(["seq_len=5", *TINY]), tmp_path, [])
    files = ("metrics.csv", "summary.json", "checkpoint.pt", "curves.png")
    before = [(tmp_path / name).read_bytes() for name in files]
    with caplog.at_level("INFO"):
        again = run_job(compose_config(["seq_len=5", *TINY]), tmp_path, [])
    assert "already holds a completed run" in caplog.text
    assert again["steps_done"] == 20 and again["status"] == "completed"
    with pytest.raises(ConfigError, match="already holds a run of another config"):
        run_job(compose_config(["seq_len=5", *TINY, "trainer.steps=40"]), tmp_path, [])
    assert [(tmp_path / name).read_bytes() for name in files] == before


def test_extending_a_run_from_its_checkpoint_matches_an_uninterrupted_run(tmp_path):
    full = run_job(compose_config([*TINY, "trainer.steps=40"]), tmp_path / "full", [])
    half = tmp_path / "half"
    run_job(compose_config([*TINY, "trainer.steps=20"]), half, [])
    # Pretend the first half was cut short: the checkpoint at step 20 is where it resumes.
    (half / "summary.json").unlink()
    resumed = run_job(compose_config([*TINY, "trainer.steps=40"]), half, [])
    assert metrics_without_time(half / "metrics.csv") == metrics_without_time(tmp_path / "full" / "metrics.csv")
    assert resumed["final_eval_acc"] == full["final_eval_acc"]


def test_resuming_with_a_different_config_is_refused(tmp_path):
    """Without its summary, a run dir's identity comes from its checkpoint: refused before anything
    is written (issue 15 §3), and the original command then repairs the summary."""
    from sweeplab.errors import ConfigError

    run_job(compose_config([*TINY, "seq_len=5"]), tmp_path, [])
    (tmp_path / "summary.json").unlink()
    with pytest.raises(ConfigError, match="another config"):
        run_job(compose_config([*TINY, "seq_len=6"]), tmp_path, [])
    assert not (tmp_path / "summary.json").exists()
    repaired = run_job(compose_config([*TINY, "seq_len=5"]), tmp_path, [])
    assert repaired["status"] == "completed" and repaired["seq_len"] == 5


def test_how_a_run_executes_does_not_make_it_another_run(tmp_path, caplog):
    """Threads, CUDA graphs and memory layout change how a run executes, not what it computes:
    the run resumes under other values, and so does a run recorded before such a key existed."""
    import torch

    run_job(compose_config([*TINY, "seq_len=5"]), tmp_path, [])
    # As if written by an older sweeplab without trainer.cuda_graph, and cut short after the last checkpoint.
    checkpoint = torch.load(tmp_path / "checkpoint.pt", weights_only=False)
    del checkpoint["config"]["trainer"]["cuda_graph"]
    torch.save(checkpoint, tmp_path / "checkpoint.pt")
    summary = json.loads((tmp_path / "summary.json").read_text())
    del summary["config"]["trainer"]["cuda_graph"]
    summary["status"] = "running"
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    with caplog.at_level("INFO"):
        resumed = run_job(compose_config([*TINY, "seq_len=5", "trainer.num_threads=2"]), tmp_path, [])
    assert "resuming from" in caplog.text and "at step 20" in caplog.text
    assert resumed["status"] == "completed" and resumed["steps_done"] == 20


def test_an_unfinished_run_is_not_touched_by_another_config(tmp_path):
    from sweeplab.errors import ConfigError

    run_job(compose_config([*TINY, "seq_len=5"]), tmp_path, [])
    summary = json.loads((tmp_path / "summary.json").read_text())
    summary["status"] = "running"  # as if killed midway
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    before = (tmp_path / "summary.json").read_bytes(), (tmp_path / "checkpoint.pt").read_bytes()
    with pytest.raises(ConfigError, match="already holds a run of another config"):
        run_job(compose_config([*TINY, "seq_len=6"]), tmp_path, [])
    assert ((tmp_path / "summary.json").read_bytes(), (tmp_path / "checkpoint.pt").read_bytes()) == before
    resumed = run_job(compose_config([*TINY, "seq_len=5"]), tmp_path, [])  # the same config resumes
    assert resumed["status"] == "completed"


def test_a_nan_loss_marks_the_run_diverged(tmp_path, monkeypatch):
    from sweeplab.tasks.palindrome.data import PalindromeData

    real_sample = PalindromeData.sample
    calls = {"n": 0}

    def poisoned_sample(self, batch_size):  # from step 13 on, the inputs are NaN
        calls["n"] += 1
        inputs, targets = real_sample(self, batch_size)
        return (inputs * float("nan") if calls["n"] > 12 else inputs), targets

    monkeypatch.setattr(PalindromeData, "sample", poisoned_sample)
    summary = run_job(compose_config([*TINY, "trainer.steps=50"]), tmp_path, [])
    assert summary["status"] == "diverged"
    assert summary["steps_done"] == 20  # stopped at the first evaluation after the NaN
    assert json.loads((tmp_path / "summary.json").read_text())["status"] == "diverged"


def test_a_crashing_task_records_failed_with_its_traceback(tmp_path, monkeypatch):
    import sweeplab.tasks.palindrome.train as palindrome

    def boom(*args, **kwargs):
        raise RuntimeError("simulated crash")

    monkeypatch.setattr(palindrome, "train_step", boom)
    with pytest.raises(RuntimeError):
        run_job(compose_config(TINY), tmp_path, ["seq_len=20"])
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["status"] == "failed"
    assert summary["error"] == "RuntimeError: simulated crash"
    assert "simulated crash" in (tmp_path / "error.txt").read_text()


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_a_run_on_cuda(tmp_path):
    summary = run_job(compose_config([*TINY[:-1], "trainer.device=auto"]), tmp_path, [])
    assert summary["device"].startswith("cuda") and summary["status"] == "completed"


def test_resuming_on_another_kind_of_device_is_refused_with_one_line(tmp_path):
    from sweeplab.checkpoint import load_for_resume
    from sweeplab.errors import ConfigError

    cfg = compose_config([*TINY, "seq_len=5"])
    run_job(cfg, tmp_path, [])
    checkpoint = torch.load(tmp_path / "checkpoint.pt", weights_only=False)
    assert checkpoint["device_type"] == "cpu"
    checkpoint["device_type"] = "cuda"  # as if written on a GPU
    torch.save(checkpoint, tmp_path / "checkpoint.pt")
    with pytest.raises(ConfigError, match="was written on cuda and its random state cannot continue on cpu"):
        load_for_resume(tmp_path / "checkpoint.pt", cfg, "cpu")
