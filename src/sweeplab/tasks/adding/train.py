"""The adding problem: train a recurrent model to output the sum of the two marked values (MSE).

Each step trains on a fresh batch; every `trainer.eval_every` steps the held-out MSE makes a
metrics.csv row. What all memory tasks share (model, optimizer, sampler, early stopping, the run's
opening) is sweeplab.tasks.sequence's; the loop, checkpoints and resume are sweeplab.loop's.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from omegaconf import DictConfig

from sweeplab import loop
from sweeplab.curves import Panel
from sweeplab.job import Job
from sweeplab.tasks.adding.data import INPUTS, AddingData
from sweeplab.tasks.adding.spec import SPEC
from sweeplab.tasks.adding.validate import validate
from sweeplab.tasks.sequence import SequenceTask, run_task


class Adding(SequenceTask):
    spec = SPEC
    curve_panels = [Panel("MSE", (("train_mse", "train"), ("eval_mse", "held-out")))]

    def __init__(self, cfg: DictConfig, device: torch.device):
        super().__init__(cfg, device)
        data = AddingData(cfg.seq_len, cfg.seed, cfg.data.eval_size, cfg.data.eval_seed, device)
        self.setup(cfg, data, INPUTS, num_classes=1)  # one output: the sum

    def compute(self, inputs: torch.Tensor, targets: torch.Tensor):
        self.optimizer.zero_grad(set_to_none=True)
        loss = F.mse_loss(self.model(inputs).squeeze(-1), targets)
        self.optimise(loss)
        return (loss.detach(),)

    @torch.no_grad()
    def row(self, steps_done: int, sums: list[float], count: int) -> dict:
        self.model.eval()
        eval_mse = F.mse_loss(self.model(self.data.eval_inputs).squeeze(-1), self.data.eval_targets).item()
        self.model.train()
        return {"step": steps_done, "train_mse": sums[0] / count, "eval_mse": eval_mse}

    def results(self, progress: loop.Progress) -> dict:
        rows = progress.rows
        return {
            "final_eval_mse": rows[-1]["eval_mse"] if rows else None,
            "best_eval_mse": min(r["eval_mse"] for r in rows) if rows else None,
            "step_solved": self.step_solved(rows),
        }


def run(cfg: DictConfig, job: Job) -> dict:
    return run_task(cfg, job, validate, Adding, title="adding")
