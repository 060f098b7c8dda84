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
from sweeplab.curves import Panel
from sweeplab.job import Job
from sweeplab.tasks.palindrome.data import NUM_DIGITS, PalindromeData
from sweeplab.tasks.palindrome.spec import SPEC
from sweeplab.tasks.palindrome.validate import validate
from sweeplab.tasks.sequence import SequenceTask, run_task

log = logging.getLogger(__name__)


class Palindrome(SequenceTask):
    spec = SPEC
    curve_panels = [
        Panel("cross-entropy", (("train_loss", "train"), ("eval_loss", "held-out"))),
        Panel("accuracy", (("train_acc", "train"), ("eval_acc", "held-out")), ylim=(-0.02, 1.02)),
    ]

    def __init__(self, cfg: DictConfig, device: torch.device):
        super().__init__(cfg, device)
        data = PalindromeData(cfg.seq_len, cfg.data.encoding, cfg.seed, cfg.data.eval_size, cfg.data.eval_seed, device)
        self.setup(cfg, data, data.input_size, num_classes=NUM_DIGITS)

    def compute(self, inputs: torch.Tensor, targets: torch.Tensor):
        return train_step(self.model, self.optimizer, inputs, targets, self.max_norm)

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

    def results(self, progress: loop.Progress) -> dict:
        rows = progress.rows
        accuracies = [r["eval_acc"] for r in rows]
        return {
            "final_eval_acc": accuracies[-1] if rows else None,
            "final_eval_loss": rows[-1]["eval_loss"] if rows else None,
            "best_eval_acc": max(accuracies) if rows else None,
            "step_to_99": self.step_solved(rows),
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
    return run_task(cfg, job, validate, Palindrome)
