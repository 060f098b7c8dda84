"""Part I: train a recurrent model on the palindrome task and evaluate it on a held-out set.

Each step trains on a fresh batch (zero_grad -> forward -> loss -> backward -> clip_grad_norm_ ->
step); every `trainer.eval_every` steps the held-out accuracy makes a metrics.csv row. The loop,
checkpoints and resume are sweeplab.loop's.
"""

from __future__ import annotations

import logging

import torch
import torch.nn.functional as F
from omegaconf import DictConfig

from sweeplab import loop
from sweeplab.build import build
from sweeplab.curves import Panel
from sweeplab.device import describe, prepare
from sweeplab.errors import ConfigError
from sweeplab.job import Job
from sweeplab.tasks.palindrome.data import NUM_DIGITS, PalindromeData
from sweeplab.tasks.palindrome.spec import SPEC
from sweeplab.tasks.palindrome.validate import validate

log = logging.getLogger(__name__)


class Palindrome(loop.Task):
    metric_columns = SPEC.metric_columns
    curve_panels = [
        Panel("cross-entropy", (("train_loss", "train"), ("eval_loss", "held-out"))),
        Panel("accuracy", (("train_acc", "train"), ("eval_acc", "held-out")), ylim=(-0.02, 1.02)),
    ]

    def __init__(self, cfg: DictConfig, device: torch.device):
        trainer = cfg.trainer
        # Plain values: the step runs thousands of times a second and config lookups are not free.
        self.total_steps, self.batch_size, self.max_norm = trainer.steps, trainer.batch_size, trainer.max_norm
        self.eval_every, self.checkpoint_every = trainer.eval_every, trainer.checkpoint_every
        self.device, self.label = device, f"{cfg.model.name} T={cfg.seq_len} seed={cfg.seed}"
        torch.manual_seed(cfg.seed)  # the model's initial weights
        self.data = PalindromeData(
            cfg.seq_len, cfg.data.encoding, cfg.seed, cfg.data.eval_size, cfg.data.eval_seed, device
        )
        self.model = build("model", cfg.model, self.data.input_size, num_classes=NUM_DIGITS)
        if reason := getattr(self.model, "unavailable_on", lambda _: None)(device):
            raise ConfigError(reason)
        self.model.to(device).train()
        self.optimizer = build("optim", cfg.optim, self.model.parameters())
        self.modules, self.optimizers = {"model": self.model}, {"optimizer": self.optimizer}
        self.generators = {"sampler": self.data.generator}

    def draw(self, step: int):
        return self.data.sample(self.batch_size)

    def compute(self, inputs: torch.Tensor, targets: torch.Tensor):
        return train_step(self.model, self.optimizer, inputs, targets, self.max_norm)

    def row_due(self, steps_done: int) -> bool:
        return steps_done % self.eval_every == 0

    def row(self, steps_done: int, sums: list[float], count: int) -> dict:
        eval_loss, eval_acc = evaluate(self.model, self.data.eval_inputs, self.data.eval_targets)
        loss_sum, correct = sums
        return {
            "step": steps_done,
            "train_loss": loss_sum / count,
            "train_acc": correct / (count * self.batch_size),
            "eval_loss": eval_loss,
            "eval_acc": eval_acc,
        }

    def checkpoint_due(self, steps_done: int) -> bool:
        return steps_done % self.checkpoint_every == 0

    def solved(self, row: dict) -> bool:
        return SPEC.solved.met(row[SPEC.solved.metric])

    def results(self, progress: loop.Progress) -> dict:
        rows = progress.rows
        accuracies = [r["eval_acc"] for r in rows]
        return {
            "final_eval_acc": accuracies[-1] if rows else None,
            "final_eval_loss": rows[-1]["eval_loss"] if rows else None,
            "best_eval_acc": max(accuracies) if rows else None,
            "step_to_99": next((r["step"] for r in rows if self.solved(r)), None),
        }


def train_step(model, optimizer, inputs, targets, max_norm: float):
    """One optimisation step; returns (mean loss, correct count) as device tensors."""
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


def run(cfg: DictConfig, job: Job) -> dict:
    validate(cfg)
    device = prepare(cfg)  # also refuses a run that cannot fit, before it allocates
    task = Palindrome(cfg, device)
    settings = {
        "model": cfg.model.name,
        "hidden_size": cfg.model.hidden_size,
        **({"forget_bias": cfg.model.forget_bias} if "forget_bias" in cfg.model else {}),  # an LSTM's
        "seq_len": cfg.seq_len,
        "encoding": cfg.data.encoding,
        "seed": cfg.seed,
        "optimizer": cfg.optim.name,
        "lr": cfg.optim.lr,
        "batch_size": cfg.trainer.batch_size,
        "steps": cfg.trainer.steps,
        "n_params": sum(p.numel() for p in task.model.parameters()),
    }
    log.info("%s on %s: %d parameters, %d steps", task.label, describe(device), settings["n_params"], cfg.trainer.steps)
    return loop.record(task, cfg, job, settings, title=f"{cfg.model.name}, T = {cfg.seq_len}, seed {cfg.seed}")
