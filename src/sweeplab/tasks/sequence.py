"""What every memory task on a recurrent model shares (the palindrome, the adding problem, the copy
task): one model and one optimizer trained in steps on fresh batches from a seeded sampler, a
metrics row every `trainer.eval_every` steps, early stopping by the spec's solved rule, and the run's
opening: validate, choose the device (refusing a run that cannot fit), build, log, record.

A task subclasses `SequenceTask` with its data, its step (`compute`), its row and its results; its
`run(cfg, job)` is `run_task(cfg, job, validate, MyTask, title)`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import torch
from omegaconf import DictConfig, OmegaConf

from sweeplab import loop
from sweeplab.build import build
from sweeplab.contract import TaskSpec
from sweeplab.device import describe, prepare
from sweeplab.errors import ConfigError
from sweeplab.job import Job

log = logging.getLogger(__name__)


class SequenceTask(loop.Task):
    """A recurrent model learning a sequence task; the subclass sets `spec` and calls `setup`."""

    spec: TaskSpec

    def __init__(self, cfg: DictConfig, device: torch.device):
        trainer = cfg.trainer
        # Plain values: the step runs thousands of times a second and config lookups are not free.
        self.total_steps, self.batch_size, self.max_norm = trainer.steps, trainer.batch_size, trainer.max_norm
        self.eval_every, self.checkpoint_every = trainer.eval_every, trainer.checkpoint_every
        self.device, self.label = device, f"{cfg.model.name} T={cfg.seq_len} seed={cfg.seed}"
        self.metric_columns = self.spec.metric_columns

    def setup(self, cfg: DictConfig, data, input_size: int, num_classes: int, **model_args) -> None:
        """The data (with `sample(batch_size)` and its `generator`), the model (with the spec's model_args,
        such as outputs="all"), the optimizer, and what the checkpoint holds."""
        self.data = data
        torch.manual_seed(cfg.seed)  # the model's initial weights
        model_args = {**self.spec.model_args, **model_args}
        self.model = build("model", cfg.model, input_size, num_classes=num_classes, **model_args)
        if reason := getattr(self.model, "unavailable_on", lambda _: None)(self.device):
            raise ConfigError(reason)
        self.model.to(self.device).train()
        self.optimizer = build("optim", cfg.optim, self.model.parameters())
        self.modules, self.optimizers = {"model": self.model}, {"optimizer": self.optimizer}
        self.generators = {"sampler": data.generator}

    def draw(self, step: int):
        return self.data.sample(self.batch_size)

    def optimise(self, loss: torch.Tensor) -> None:
        """backward -> clip_grad_norm_ -> step (the gradients were zeroed before the forward pass)."""
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.max_norm)
        self.optimizer.step()

    def row_due(self, steps_done: int) -> bool:
        return steps_done % self.eval_every == 0

    def checkpoint_due(self, steps_done: int) -> bool:
        return steps_done % self.checkpoint_every == 0

    def solved(self, row: dict) -> bool:
        return self.spec.solved.met(row[self.spec.solved.metric])

    def step_solved(self, rows: list[dict]):
        """The first evaluated step at which the run was solved, or None."""
        return next((r["step"] for r in rows if self.solved(r)), None)


def settings(cfg: DictConfig, task: SequenceTask) -> dict:
    """The summary's settings: its spec's (contract.sequence_settings; a key the config lacks, such as
    the RNN's forget_bias, is left out), and the model's size."""
    recorded = {}
    for key, path in task.spec.settings.items():
        value = OmegaConf.select(cfg, path, default=_ABSENT)
        if value is not _ABSENT:
            recorded[key] = value
    return {**recorded, "n_params": sum(p.numel() for p in task.model.parameters())}


_ABSENT = object()


def run_task(
    cfg: DictConfig, job: Job, validate: Callable[[DictConfig], None], task_class: type[SequenceTask],
    title: str = "",
) -> dict:  # fmt: skip
    """Validate, prepare the device (refusing a run that cannot fit, before it allocates), build the task,
    log its size, and run it with sweeplab.loop.record (`title` starts the curves' title: "adding")."""
    validate(cfg)
    device = prepare(cfg)
    task = task_class(cfg, device)
    recorded = settings(cfg, task)
    log.info("%s on %s: %d parameters, %d steps", task.label, describe(device), recorded["n_params"], cfg.trainer.steps)
    return loop.record(
        task,
        cfg,
        job,
        recorded,
        title=f"{title + ': ' if title else ''}{cfg.model.name}, T = {cfg.seq_len}, seed {cfg.seed}",
    )
