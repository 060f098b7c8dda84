"""Writers of synthetic run and sweep dirs (docs/ARTIFACTS.md layout) for the multirun_analysis tests.

Nothing is trained: each job's summary.json, metrics.csv and .hydra/ files are written directly, so a
test knows every number the analysis should find.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import yaml

EVAL_EVERY = 25
SWEEPLAB_SWEEPER = "hydra_plugins.sweeplab_sweeper.sweeper.SweeplabSweeper"


def config_for(model="lstm", seq_len=10, seed=0, lr=1e-3, hidden_size=128, encoding="one_hot", steps=100,
               task="palindrome", forget_bias=1.0, eval_every=EVAL_EVERY, num_threads=1) -> dict:  # fmt: skip
    model_cfg = {"name": model, "hidden_size": hidden_size}
    if model.startswith("lstm"):
        model_cfg["forget_bias"] = forget_bias
    return {
        "seed": seed, "task": task, "seq_len": seq_len, "model": model_cfg,
        "data": {"encoding": encoding, "eval_size": 2000, "eval_seed": 1234},
        "optim": {"name": "rmsprop", "lr": lr, "weight_decay": 0.0},
        "trainer": {"steps": steps, "batch_size": 128, "max_norm": 10.0, "eval_every": eval_every,
                    "checkpoint_every": 1000, "device": "cpu", "num_threads": num_threads},
    }  # fmt: skip


def metrics_rows(final: float, until: int, eval_every: int = EVAL_EVERY) -> list[dict]:
    """A rising accuracy curve from 0.1 reaching `final` at step `until`."""
    rows = []
    for step in range(eval_every, until + 1, eval_every):
        acc = 0.1 + (final - 0.1) * step / until
        loss = 2.3 * (1.0 - acc) + 0.01
        rows.append({"step": step, "train_loss": loss * 1.1, "train_acc": acc, "eval_loss": loss, "eval_acc": acc,
                     "elapsed_s": step / 100})  # fmt: skip
    return rows


def write_metrics(job: Path, rows: list[dict]) -> None:
    cols = ("step", "train_loss", "train_acc", "eval_loss", "eval_acc", "elapsed_s")
    lines = [",".join(cols)] + [",".join(str(r[c]) for c in cols) for r in rows]
    (job / "metrics.csv").write_text("\n".join(lines) + "\n")


def write_job(sweep: Path, num: int | None, *, model="lstm", seq_len=10, seed=0, final=0.5, status="completed",
              steps=100, metrics_until=None, steps_done=None, lr=1e-3, hidden_size=128, encoding="one_hot",
              forget_bias=1.0, eval_every=EVAL_EVERY, num_threads=1, error=None, summary=True, config=True,
              provenance=None, early_stopped_at=None, name=None, mode="MULTIRUN", corrupt_summary=False,
              corrupt_metrics=False, best=None, step_to_99=None) -> Path:  # fmt: skip
    """One palindrome job dir. `metrics_until` (default: `steps`, half of it unless completed) ends metrics.csv."""
    job = sweep / (name or str(num))
    (job / ".hydra").mkdir(parents=True)
    cfg = config_for(model, seq_len, seed, lr, hidden_size, encoding, steps, "palindrome", forget_bias, eval_every,
                     num_threads)  # fmt: skip
    if config:
        (job / ".hydra" / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    overrides = [f"model={model}", f"seq_len={seq_len}", f"seed={seed}"]
    (job / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    hydra = {"hydra": {"mode": mode, "job": {"num": num if num is not None else 0},
                       "runtime": {"choices": {"model": model, "task": "palindrome"}}}}  # fmt: skip
    (job / ".hydra" / "hydra.yaml").write_text(yaml.safe_dump(hydra))
    until = (
        metrics_until
        if metrics_until is not None
        else (early_stopped_at or (steps if status == "completed" else steps // 2))
    )
    rows = metrics_rows(final, until, eval_every) if until else []
    if corrupt_metrics:
        (job / "metrics.csv").write_bytes(b"\x00\xff\xfe garbage \x00\n\x01\x02")
    elif rows:
        write_metrics(job, rows)
    if summary:
        if corrupt_summary:
            (job / "summary.json").write_text('{"status": "completed", "final_eval_')
            return job
        done = status == "completed"
        data = {
            "status": status, "task": "palindrome", "model": model, "seq_len": seq_len, "seed": seed,
            "steps": steps, "steps_done": steps_done if steps_done is not None else (rows[-1]["step"] if rows else 0),
            "final_eval_acc": final if done else None, "best_eval_acc": best if best is not None else (final if done else None),
            "step_to_99": step_to_99, "wall_time_s": 12.5 if done else None, "steps_per_s": 8.0, "device": "cpu",
            "n_params": 17000 if model == "rnn" else 68000, "torch_version": "2.4.0", "overrides": overrides,
            "error": error, "config": cfg,
        }  # fmt: skip
        if early_stopped_at is not None:
            data["early_stopped_at"] = early_stopped_at
        if provenance is not None:
            data["provenance"] = provenance
        (job / "summary.json").write_text(json.dumps(data))
    if status == "failed":
        (job / "error.txt").write_text("Traceback (most recent call last):\n  ...\nRuntimeError: boom\n")
    return job


def write_multirun_yaml(sweep: Path, params: dict | None = None, task_overrides=(), sweeper=SWEEPLAB_SWEEPER,
                        **sweeper_settings) -> None:  # fmt: skip
    sweep.mkdir(parents=True, exist_ok=True)
    multirun = {"hydra": {"sweeper": {"_target_": sweeper, "params": params, **sweeper_settings},
                          "overrides": {"task": list(task_overrides)}, "mode": "MULTIRUN"},
                "seed": 0, "task": "palindrome"}  # fmt: skip
    (sweep / "multirun.yaml").write_text(yaml.safe_dump(multirun, sort_keys=False))


def grid(params: dict[str, list]) -> list[dict]:
    """The jobs of a grid in Hydra's order (the first key outermost), as keyword dicts."""
    keys = list(params)
    return [dict(zip(keys, values)) for values in itertools.product(*params.values())]


def write_grid_sweep(sweep: Path, params: dict[str, list], outcome, skip=(), task_overrides=(), **job_kwargs) -> Path:
    """A grid sweep: multirun.yaml with `params`, one job per grid point except the numbers in `skip`.

    `outcome(job_dict) -> dict` gives each job's keyword arguments for write_job (final, status, ...).
    """
    write_multirun_yaml(sweep, {k: ",".join(map(str, v)) for k, v in params.items()}, task_overrides)
    for num, point in enumerate(grid(params)):
        if num in skip:
            continue
        args = {"model": point.get("model", "lstm"), "seq_len": point.get("seq_len", 10), "seed": point.get("seed", 0)}
        write_job(sweep, num, **{**args, **job_kwargs, **outcome(point)})
    return sweep


def write_gan_job(sweep: Path, num: int, latent: int, seed: int, fid: float | None, status="completed",
                  image=True) -> Path:  # fmt: skip
    from PIL import Image

    job = sweep / str(num)
    (job / ".hydra").mkdir(parents=True)
    cfg = {"seed": seed, "task": "gan", "gan": {"name": "dcgan", "latent_size": latent, "lr": 2e-4},
           "trainer": {"epochs": 5, "batch_size": 64, "device": "cpu", "log_every": 10}}  # fmt: skip
    (job / ".hydra" / "config.yaml").write_text(yaml.safe_dump(cfg))
    (job / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump([f"gan.latent_size={latent}", f"seed={seed}"]))
    (job / ".hydra" / "hydra.yaml").write_text(yaml.safe_dump({"hydra": {"job": {"num": num}, "mode": "MULTIRUN"}}))
    summary = {"status": status, "task": "gan", "seed": seed, "fid": fid, "classes_covered": 10, "lr": 2e-4,
               "config": cfg}  # fmt: skip
    (job / "summary.json").write_text(json.dumps(summary))
    lines = ["step,epoch,d_loss,g_loss,d_x,d_g_z,elapsed_s"] + [f"{s},{s // 10},{1.0 / s},{2.0 + 1 / s},0.5,0.4,{s}"
                                                                for s in (10, 20, 30)]  # fmt: skip
    (job / "metrics.csv").write_text("\n".join(lines) + "\n")
    if image:
        Image.new("L", (62, 62), color=128).save(job / "samples_epoch_005.png")
    return job


# The known sweep: rnn and lstm x T in (5, 10, 15) x seeds 0-3, all completed.
#   rnn  T=5: 4/4 solved, T=10: 2/4, T=15: 0/4  -> symmetric about T = 10, so T50 = 10 exactly
#   lstm: 12/12 solved                            -> T50 > 15 (censored above)
KNOWN_FINALS = {
    ("rnn", 5): [1.0, 1.0, 0.995, 0.99],
    ("rnn", 10): [1.0, 0.995, 0.6, 0.5],
    ("rnn", 15): [0.3, 0.2, 0.1, 0.1],
    ("lstm", 5): [1.0, 1.0, 1.0, 1.0],
    ("lstm", 10): [1.0, 1.0, 0.995, 0.99],
    ("lstm", 15): [1.0, 0.999, 0.995, 0.99],
}
KNOWN_PARAMS = {"model": ["rnn", "lstm"], "seq_len": [5, 10, 15], "seed": [0, 1, 2, 3]}


def known_outcome(point: dict) -> dict:
    return {"final": KNOWN_FINALS[(point["model"], point["seq_len"])][point["seed"]]}
