"""Part I: train a recurrent model on the palindrome task and evaluate it on a held-out set.

The loop: zero_grad -> forward -> loss -> backward -> clip_grad_norm_ -> step, with an evaluation
(one metrics.csv row) every `trainer.eval_every` steps and a checkpoint every
`trainer.checkpoint_every` steps. A run that finds a checkpoint in its directory continues from it.
"""

import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from omegaconf import DictConfig, OmegaConf
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from sweeplab import artifacts
from sweeplab.checkpoint import load_for_resume
from sweeplab.config import validate_palindrome
from sweeplab.cuda_graph import GraphedTrainStep, set_capturable, use_cuda_graph
from sweeplab.data.palindrome import NUM_DIGITS, PalindromeData
from sweeplab.device import describe, prepare
from sweeplab.models import build_recurrent_model, check_device
from sweeplab.optim import build_optimizer
from sweeplab.plots import plot_curves

log = logging.getLogger(__name__)

METRIC_COLUMNS = ["step", "train_loss", "train_acc", "eval_loss", "eval_acc", "elapsed_s"]
SOLVED = 0.99  # the accuracy at which `step_to_99` counts a length as learned
# Keys that may differ between a checkpoint and the run resuming it.
RESUMABLE_CHANGES = ("trainer.steps",)


@dataclass
class Progress:
    """Everything about the run so far that a checkpoint must restore."""

    step: int = 0
    rows: list = field(default_factory=list)
    elapsed_before: float = 0.0  # training seconds spent before this process started
    # Sums over the training batches since the last evaluation (kept on the device: no sync per step).
    loss_sum: torch.Tensor | float = 0.0  # of the batches' mean losses
    correct: torch.Tensor | int = 0
    seen: int = 0  # examples
    batches: int = 0


def run(cfg: DictConfig, out_dir: Path, overrides: list[str]) -> dict:
    validate_palindrome(cfg)
    device = prepare(cfg.trainer)
    use_cuda_graph(cfg.trainer.cuda_graph, device)  # refuses `true` without a GPU before any work
    check_device(cfg.model.name, device)
    torch.manual_seed(cfg.seed)
    data = PalindromeData(
        cfg.seq_len, cfg.data.encoding, cfg.seed, cfg.data.eval_size, cfg.data.eval_seed, device
    )
    model = build_recurrent_model(cfg.model, data.input_size, NUM_DIGITS).to(device)
    optimizer = build_optimizer(cfg.optim, model.parameters())
    progress = Progress()

    checkpoint_path = out_dir / artifacts.CHECKPOINT_FILE
    if checkpoint_path.exists():
        progress = load_checkpoint(checkpoint_path, cfg, model, optimizer, data)
        log.info("resuming from %s at step %d", checkpoint_path, progress.step)

    summary = artifacts.update_summary(
        out_dir,
        model=cfg.model.name,
        hidden_size=cfg.model.hidden_size,
        forget_bias=cfg.model.get("forget_bias"),
        seq_len=cfg.seq_len,
        encoding=cfg.data.encoding,
        seed=cfg.seed,
        optimizer=cfg.optim.name,
        lr=cfg.optim.lr,
        batch_size=cfg.trainer.batch_size,
        steps=cfg.trainer.steps,
        device=str(device),
        n_params=sum(p.numel() for p in model.parameters()),
        torch_version=torch.__version__,
        **headline(progress, started_at=progress.step, seconds=0.0),
    )
    log.info(
        "%s T=%d seed=%d on %s: %d parameters, %d steps",
        cfg.model.name, cfg.seq_len, cfg.seed, describe(device), summary["n_params"], cfg.trainer.steps,
    )

    started_at, start = progress.step, time.perf_counter()
    status = train(cfg, model, optimizer, data, progress, out_dir)
    seconds = time.perf_counter() - start

    if progress.rows:
        title = f"{cfg.model.name}, T = {cfg.seq_len}, seed {cfg.seed} ({status})"
        plot_curves(progress.rows, title, out_dir / artifacts.CURVES_FILE)
    # The status goes last: a run killed before this line is `running` and gets rerun.
    summary = artifacts.update_summary(out_dir, status=status, **headline(progress, started_at, seconds))
    log.info(
        "%s: final held-out accuracy %s after %d steps (%.1f steps/s)",
        status, summary["final_eval_acc"], progress.step, summary["steps_per_s"] or 0.0,
    )
    return summary


def train(cfg, model, optimizer, data, progress: Progress, out_dir: Path) -> str:
    """Train until `trainer.steps`; return the run's status: `completed` or `diverged`."""
    trainer = cfg.trainer
    # Plain ints: the loop below runs thousands of times a second and config lookups are not free.
    steps, batch_size = trainer.steps, trainer.batch_size
    eval_every, checkpoint_every = trainer.eval_every, trainer.checkpoint_every
    model.train()
    start = time.perf_counter()
    bar = tqdm(
        total=steps,
        initial=progress.step,
        desc=f"{cfg.model.name} T={cfg.seq_len}",
        disable=None,  # a bar on a terminal only; log lines otherwise
        leave=False,
    )
    step = make_step(cfg, model, optimizer, data)
    with bar, logging_redirect_tqdm():
        while progress.step < steps:
            loss, correct = step()
            progress.step += 1
            # Accumulated on the device (in place after the first step): no host sync per step.
            progress.loss_sum += loss
            progress.correct += correct
            progress.seen += batch_size
            progress.batches += 1
            bar.update()

            last = progress.step == steps
            if progress.step % eval_every == 0 or last:
                row = evaluate_row(model, data, progress, progress.elapsed_before + time.perf_counter() - start)
                bar.set_postfix(eval_acc=f"{row['eval_acc']:.3f}")
                log.info(
                    "step %d/%d  train_loss %.4f  train_acc %.3f  eval_loss %.4f  eval_acc %.3f",
                    row["step"], steps, row["train_loss"], row["train_acc"],
                    row["eval_loss"], row["eval_acc"],
                )
                artifacts.write_csv(out_dir / artifacts.METRICS_FILE, METRIC_COLUMNS, progress.rows)
                if not (math.isfinite(row["train_loss"]) and math.isfinite(row["eval_loss"])):
                    log.warning("loss is %s at step %d: the run diverged", row["train_loss"], row["step"])
                    return "diverged"
            if progress.step % checkpoint_every == 0 or last:
                elapsed = progress.elapsed_before + time.perf_counter() - start
                save_checkpoint(out_dir / artifacts.CHECKPOINT_FILE, cfg, model, optimizer, data, progress, elapsed)
    return "completed"


def make_step(cfg, model, optimizer, data):
    """The training step on a fresh batch, as a function of nothing: eager, or a replayed CUDA graph."""
    trainer = cfg.trainer
    graphed = use_cuda_graph(trainer.cuda_graph, data.device)
    set_capturable(optimizer, graphed, data.device)
    if graphed:
        log.info("training step captured as a CUDA graph")
        return GraphedTrainStep(model, optimizer, data, trainer.batch_size, trainer.max_norm)
    batch_size, max_norm = trainer.batch_size, trainer.max_norm
    return lambda: train_step(model, optimizer, *data.sample(batch_size), max_norm)


def train_step(model, optimizer, inputs, targets, max_norm: float):
    optimizer.zero_grad(set_to_none=True)
    logits = model(inputs)
    loss = F.cross_entropy(logits, targets)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    optimizer.step()
    return loss.detach(), (logits.detach().argmax(dim=1) == targets).sum()


@torch.no_grad()
def evaluate(model, inputs, targets) -> tuple[float, float]:
    model.eval()
    logits = model(inputs)
    model.train()
    loss = F.cross_entropy(logits, targets).item()
    accuracy = (logits.argmax(dim=1) == targets).double().mean().item()
    return loss, accuracy


def evaluate_row(model, data: PalindromeData, progress: Progress, elapsed: float) -> dict:
    """Evaluate on the held-out set, append a metrics row and reset the training sums."""
    eval_loss, eval_acc = evaluate(model, data.eval_inputs, data.eval_targets)
    row = {
        "step": progress.step,
        "train_loss": float(progress.loss_sum) / progress.batches,
        "train_acc": float(progress.correct) / progress.seen,
        "eval_loss": eval_loss,
        "eval_acc": eval_acc,
        "elapsed_s": round(elapsed, 3),
    }
    progress.rows.append(row)
    progress.loss_sum, progress.correct, progress.seen, progress.batches = 0.0, 0, 0, 0
    return row


def headline(progress: Progress, started_at: int, seconds: float) -> dict:
    """The summary's numbers, from the metrics rows so far."""
    rows = progress.rows
    accuracies = [r["eval_acc"] for r in rows]
    steps_now = progress.step - started_at
    return {
        "steps_done": progress.step,
        "final_eval_acc": accuracies[-1] if rows else None,
        "final_eval_loss": rows[-1]["eval_loss"] if rows else None,
        "best_eval_acc": max(accuracies) if rows else None,
        "step_to_99": next((r["step"] for r in rows if r["eval_acc"] >= SOLVED), None),
        "wall_time_s": round(progress.elapsed_before + seconds, 3) if rows else None,
        "steps_per_s": round(steps_now / seconds, 2) if seconds > 0 and steps_now else None,
    }


def save_checkpoint(path, cfg, model, optimizer, data, progress: Progress, elapsed: float) -> None:
    artifacts.save_torch(
        path,
        {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "step": progress.step,
            "rows": progress.rows,
            "elapsed_s": elapsed,
            "accumulated": {
                "loss_sum": float(progress.loss_sum),
                "correct": int(progress.correct),
                "seen": progress.seen,
                "batches": progress.batches,
            },
            "rng": {"sampler": data.generator.get_state(), "torch": torch.get_rng_state()},
            "device_type": data.device.type,
            "config": OmegaConf.to_container(cfg, resolve=True),
        },
    )


def load_checkpoint(path, cfg, model, optimizer, data) -> Progress:
    checkpoint = load_for_resume(path, cfg, RESUMABLE_CHANGES, data.device)
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    data.generator.set_state(checkpoint["rng"]["sampler"].to("cpu"))
    torch.set_rng_state(checkpoint["rng"]["torch"].cpu())
    accumulated = checkpoint["accumulated"]
    return Progress(
        step=checkpoint["step"],
        rows=checkpoint["rows"],
        elapsed_before=checkpoint["elapsed_s"],
        loss_sum=accumulated["loss_sum"],
        correct=accumulated["correct"],
        seen=accumulated["seen"],
        batches=accumulated["batches"],
    )
