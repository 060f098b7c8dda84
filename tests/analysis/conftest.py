"""Fixtures that WRITE synthetic sweep dirs (docs/ARTIFACTS.md layout) into tmp_path."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

EVAL_EVERY = 25


def config_for(model="lstm", seq_len=10, seed=0, lr=1e-3, hidden_size=128, encoding="one_hot",
               steps=100, task="palindrome") -> dict:
    model_cfg = {"name": model, "hidden_size": hidden_size}
    if model.startswith("lstm"):
        model_cfg["forget_bias"] = 1.0
    return {
        "seed": seed, "task": task, "seq_len": seq_len, "model": model_cfg,
        "data": {"encoding": encoding, "eval_size": 2000, "eval_seed": 1234},
        "optim": {"name": "rmsprop", "lr": lr, "weight_decay": 0.0},
        "trainer": {"steps": steps, "batch_size": 128, "max_norm": 10.0, "eval_every": EVAL_EVERY,
                    "checkpoint_every": 1000, "device": "auto"},
    }


def metrics_rows(final: float, steps: int, step_to_99=None) -> list[dict]:
    """A rising accuracy curve ending at ``final`` (reaching 0.99 at ``step_to_99`` if given)."""
    rows = []
    for step in range(EVAL_EVERY, steps + 1, EVAL_EVERY):
        frac = step / steps
        acc = 0.1 + (final - 0.1) * frac
        if step_to_99 is not None:
            acc = 0.995 if step >= step_to_99 else min(acc, 0.98)
        if step == steps:
            acc = final
        loss = 2.3 * (1.0 - acc) + 0.01
        rows.append({"step": step, "train_loss": loss * 1.1, "train_acc": acc, "eval_loss": loss,
                     "eval_acc": acc, "elapsed_s": step / 100})
    return rows


def write_job(sweep: Path, num: int, *, model="lstm", seq_len=10, seed=0, lr=1e-3, hidden_size=128,
              encoding="one_hot", steps=100, task="palindrome", status="completed", final=0.5,
              best=None, step_to_99=None, error=None, summary=True, metrics=True, config=True,
              corrupt_metrics=False, corrupt_summary=False, device="cpu", torch_version="2.4.0",
              name=None) -> Path:
    job = sweep / (name or str(num))
    (job / ".hydra").mkdir(parents=True)
    overrides = [f"model={model}", f"seq_len={seq_len}", f"seed={seed}"]
    if config:
        cfg = config_for(model, seq_len, seed, lr, hidden_size, encoding, steps, task)
        (job / ".hydra" / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    (job / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    (job / ".hydra" / "hydra.yaml").write_text(yaml.safe_dump({"hydra": {"job": {"num": num}}}))
    rows = metrics_rows(final, steps, step_to_99)
    if status in ("running", "failed", "diverged"):
        rows = rows[: len(rows) // 2]
    if metrics:
        if corrupt_metrics:
            (job / "metrics.csv").write_bytes(b"\x00\xff\xfe garbage \x00\n\x01\x02")
        else:
            lines = ["step,train_loss,train_acc,eval_loss,eval_acc,elapsed_s"]
            lines += [",".join(str(r[k]) for k in ("step", "train_loss", "train_acc", "eval_loss",
                                                   "eval_acc", "elapsed_s")) for r in rows]
            (job / "metrics.csv").write_text("\n".join(lines) + "\n")
    if summary:
        if corrupt_summary:
            (job / "summary.json").write_text('{"status": "completed", "final_eval_')
        else:
            done = status == "completed"
            data = {
                "status": status, "task": task, "model": model, "hidden_size": hidden_size,
                "forget_bias": 1.0 if model.startswith("lstm") else None, "seq_len": seq_len,
                "encoding": encoding, "seed": seed, "optimizer": "rmsprop", "lr": lr, "batch_size": 128,
                "steps": steps, "steps_done": rows[-1]["step"] if rows else 0,
                "final_eval_acc": final if done else (rows[-1]["eval_acc"] if rows else None),
                "final_eval_loss": rows[-1]["eval_loss"] if rows else None,
                "best_eval_acc": (best if best is not None else final) if done else None,
                "step_to_99": step_to_99, "wall_time_s": 12.5 if done else None,
                "steps_per_s": 8.0, "device": device, "n_params": 17000 if model == "rnn" else 68000,
                "torch_version": torch_version, "overrides": overrides, "error": error,
            }
            (job / "summary.json").write_text(json.dumps(data))
    if status == "failed":
        (job / "error.txt").write_text("Traceback (most recent call last):\n  ...\nRuntimeError: boom\n")
    return job


def write_sweep(sweep: Path, jobs: list[dict], params: dict | None = None,
                task_overrides: list[str] | None = None) -> Path:
    sweep.mkdir(parents=True, exist_ok=True)
    multirun = {"hydra": {"sweeper": {"params": params or {"model": "rnn,lstm"}},
                          "overrides": {"task": task_overrides or ["experiment=quick"]}},
                "seed": 0, "task": "palindrome"}
    (sweep / "multirun.yaml").write_text(yaml.safe_dump(multirun))
    for num, job in enumerate(jobs):
        write_job(sweep, num, **job)
    return sweep


# Known values: hand-computed means and stds are checked in test_tables.py.
#   lstm T=5:  final 1.00, 0.98, 0.99 -> mean 0.99, std 0.01     (solved at 0.99)
#   lstm T=10: final 0.99, 0.99, 1.00 -> mean 0.99333.., std 0.0057735   (solved)
#   rnn  T=5:  final 1.00, 1.00, 0.97 -> mean 0.99, std 0.0173205  (solved)
#   rnn  T=10: final 0.50, 0.60, 0.70 -> mean 0.60, std 0.10   (not solved)
KNOWN_FINALS = {
    ("lstm", 5): [1.00, 0.98, 0.99],
    ("lstm", 10): [0.99, 0.99, 1.00],
    ("rnn", 5): [1.00, 1.00, 0.97],
    ("rnn", 10): [0.50, 0.60, 0.70],
}
KNOWN_STEP_TO_99 = {
    ("lstm", 5): [50, 75, 100],
    ("lstm", 10): [75, 75, 100],
    ("rnn", 5): [25, 50, None],
    ("rnn", 10): [None, None, None],
}


def known_jobs() -> list[dict]:
    jobs = []
    for model in ("rnn", "lstm"):
        for t in (5, 10):
            for seed in range(3):
                final = KNOWN_FINALS[(model, t)][seed]
                jobs.append(dict(model=model, seq_len=t, seed=seed, final=final,
                                 best=min(1.0, final + 0.005),
                                 step_to_99=KNOWN_STEP_TO_99[(model, t)][seed]))
    return jobs


@pytest.fixture(scope="session")
def sweeps():
    """The writers, for tests that build their own sweep: ``sweeps.write_job(...)``."""
    return SimpleNamespace(write_job=write_job, write_sweep=write_sweep, known_jobs=known_jobs,
                           config_for=config_for, KNOWN_FINALS=KNOWN_FINALS)


@pytest.fixture
def known_sweep(tmp_path) -> Path:
    """2 models x T in (5, 10) x 3 seeds, all completed, with the values above."""
    return write_sweep(tmp_path / "multirun" / "2024-05-01" / "10-00-00-000000", known_jobs(),
                       params={"model": "rnn,lstm", "seq_len": "5,10", "seed": "0,1,2"})


@pytest.fixture
def messy_sweep(tmp_path) -> Path:
    """12 jobs (so that 10 and 11 sort after 9): a failed job, a diverged one, one still
    running, one with no summary.json, one with a corrupt summary.json, one with a corrupt
    metrics.csv (but a completed summary) and completed ones."""
    sweep = tmp_path / "messy"
    jobs = [dict(model="rnn", seq_len=5, seed=s, final=0.9) for s in range(3)]
    jobs += [dict(model="lstm", seq_len=5, seed=s, final=1.0, step_to_99=50) for s in range(3)]
    jobs += [
        dict(model="rnn", seq_len=10, seed=0, status="failed", error="RuntimeError: boom"),   # 6
        dict(model="rnn", seq_len=10, seed=1, status="diverged", error=None),                 # 7
        dict(model="rnn", seq_len=10, seed=2, status="running"),                               # 8
        dict(model="lstm", seq_len=10, seed=0, summary=False),                                 # 9
        dict(model="lstm", seq_len=10, seed=1, corrupt_summary=True),                          # 10
        dict(model="lstm", seq_len=10, seed=2, final=0.995, corrupt_metrics=True),             # 11
    ]
    return write_sweep(sweep, jobs, params={"model": "rnn,lstm", "seq_len": "5,10", "seed": "0,1,2"})


@pytest.fixture
def two_sweeps(tmp_path) -> Path:
    """multirun/ with two sweeps: T=5 on one day, T=10 on the next (same job numbers)."""
    root = tmp_path / "multirun"
    for day, t in (("2024-05-01", 5), ("2024-05-02", 10)):
        jobs = [dict(model=m, seq_len=t, seed=s, final=1.0 if m == "lstm" else 0.5 + 0.1 * s)
                for m in ("rnn", "lstm") for s in range(2)]
        write_sweep(root / day / "09-00-00-000000", jobs, params={"model": "rnn,lstm", "seed": "0,1"},
                    task_overrides=[f"seq_len={t}"])
    return root


@pytest.fixture
def lr_sweep(tmp_path) -> Path:
    """An extra swept key: optim.lr in (1e-3, 1e-2); lstm learns only with 1e-3."""
    jobs = [dict(model=m, seq_len=8, seed=s, lr=lr, final=(1.0 if (m == "lstm" and lr == 1e-3) else 0.3))
            for lr in (1e-3, 1e-2) for m in ("rnn", "lstm") for s in range(2)]
    return write_sweep(tmp_path / "lr", jobs, params={"model": "rnn,lstm", "optim.lr": "0.001,0.01"})
