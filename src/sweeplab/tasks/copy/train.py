"""The copy task: train a recurrent model to output, over the last S steps, the S symbols it saw first.

The model returns every step's logits (the spec's model_args: outputs="all"); the loss is the
cross-entropy on the S answer steps. Each step trains on a fresh batch; every `trainer.eval_every`
steps the held-out per-symbol accuracy makes a metrics.csv row. What all memory tasks share is
sweeplab.tasks.sequence's; the loop, checkpoints and resume are sweeplab.loop's.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from omegaconf import DictConfig

from sweeplab import loop
from sweeplab.curves import Panel
from sweeplab.job import Job
from sweeplab.tasks.copy.data import CopyData, categories
from sweeplab.tasks.copy.spec import SPEC
from sweeplab.tasks.copy.validate import validate
from sweeplab.tasks.sequence import SequenceTask, run_task


class Copy(SequenceTask):
    spec = SPEC
    curve_panels = [
        Panel("cross-entropy", (("train_loss", "train"), ("eval_loss", "held-out"))),
        Panel("per-symbol accuracy", (("train_acc", "train"), ("eval_acc", "held-out")), ylim=(-0.02, 1.02)),
    ]

    def __init__(self, cfg: DictConfig, device: torch.device):
        super().__init__(cfg, device)
        self.length = cfg.data.length
        data = CopyData(cfg.seq_len, cfg.data.alphabet, cfg.data.length, cfg.seed, cfg.data.eval_size,
                        cfg.data.eval_seed, device)  # fmt: skip
        self.setup(cfg, data, categories(cfg.data.alphabet), num_classes=cfg.data.alphabet)

    def logits(self, inputs: torch.Tensor) -> torch.Tensor:
        """(batch x S, K): the answer steps' logits, one row per symbol to copy."""
        out = self.model(inputs)
        return out[:, -self.length :].reshape(-1, out.shape[-1])

    def compute(self, inputs: torch.Tensor, targets: torch.Tensor):
        self.optimizer.zero_grad(set_to_none=True)
        logits, targets = self.logits(inputs), targets.reshape(-1)
        loss = F.cross_entropy(logits, targets)
        self.optimise(loss)
        return loss.detach(), (logits.detach().argmax(dim=1) == targets).sum()

    @torch.no_grad()
    def row(self, steps_done: int, sums: list[float], count: int) -> dict:
        self.model.eval()
        logits, targets = self.logits(self.data.eval_inputs), self.data.eval_targets.reshape(-1)
        self.model.train()
        loss_sum, correct = sums
        return {
            "step": steps_done,
            "train_loss": loss_sum / count,
            "train_acc": correct / (count * self.batch_size * self.length),
            "eval_loss": F.cross_entropy(logits, targets).item(),
            "eval_acc": (logits.argmax(dim=1) == targets).double().mean().item(),
        }

    def results(self, progress: loop.Progress) -> dict:
        rows = progress.rows
        return {
            "final_eval_acc": rows[-1]["eval_acc"] if rows else None,
            "final_eval_loss": rows[-1]["eval_loss"] if rows else None,
            "best_eval_acc": max(r["eval_acc"] for r in rows) if rows else None,
            "step_solved": self.step_solved(rows),
        }


def run(cfg: DictConfig, job: Job) -> dict:
    return run_task(cfg, job, validate, Copy, title="copy")
