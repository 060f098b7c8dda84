"""The one training loop, shared by every task: step, metrics rows, checkpoints, progress, early stop.

A task (sweeplab.tasks.*) supplies its data, its step and its evaluation by subclassing `Task`; this
module does the rest the same way for all of them:

    resume from checkpoint.pt (if any) -> for each step: draw inputs, compute (eager or a CUDA graph),
    sum the step's stats -> a metrics.csv row when due (diverged at a non-finite value; early stop
    when solved on `patience` rows in a row) -> checkpoint when due -> the task's end-of-run work.

A run killed anywhere continues from its last checkpoint to exactly the result of an uninterrupted
run: the checkpoint holds the weights, optimizer state, every random generator, the rows so far and
the stats summed since the last row. A SIGINT or SIGTERM is taken at the end of a step, which is
checkpointed first (sweeplab.interrupts): the step the message names is the step a rerun resumes from.
"""

from __future__ import annotations

import contextlib
import logging
import math
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch
from omegaconf import DictConfig
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from sweeplab import artifacts, checkpoint, curves, interrupts, orphans
from sweeplab.contract import CHECKPOINT_FILE, COMPLETED, CURVES_FILE, DIVERGED, METRICS_FILE
from sweeplab.cuda_graph import GraphedStep, set_capturable, use_cuda_graph
from sweeplab.errors import ConfigError
from sweeplab.interrupts import Stopped
from sweeplab.job import Job
from sweeplab.provenance import provenance
from sweeplab.trackers import open_tracker

log = logging.getLogger(__name__)


class Task:
    """What a task gives the loop. Attributes are set by the subclass's constructor."""

    total_steps: int
    metric_columns: tuple[str, ...]
    curve_panels: list[curves.Panel]
    modules: dict[str, torch.nn.Module]  # checkpointed under these names
    optimizers: dict[str, torch.optim.Optimizer]
    generators: dict[str, torch.Generator] = {}  # random streams besides torch's global ones
    device: torch.device
    label: str  # names the run in log lines and the progress bar

    def draw(self, step: int) -> tuple[torch.Tensor, ...]:
        """The inputs of step `step` (0-based): every random draw of the step happens here."""
        raise NotImplementedError

    def compute(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """One optimisation step on `inputs`; returns stats (device tensors) that the loop sums."""
        raise NotImplementedError

    def row_due(self, steps_done: int) -> bool:
        raise NotImplementedError

    def row(self, steps_done: int, sums: list[float], count: int) -> dict:
        """A metrics row from the stats summed over the last `count` steps (may evaluate)."""
        raise NotImplementedError

    def checkpoint_due(self, steps_done: int) -> bool:
        raise NotImplementedError

    def after_step(self, steps_done: int) -> None:
        """End-of-step work such as sample grids (before any checkpoint of that step)."""

    def solved(self, row: dict) -> bool:
        """Whether a row shows the task solved (for early stopping)."""
        return False

    def results(self, progress: Progress) -> dict:
        """The summary's task-specific numbers."""
        return {}


@dataclass
class Progress:
    """Everything about the run so far that a checkpoint must restore."""

    step: int = 0
    rows: list[dict] = field(default_factory=list)
    elapsed_before: float = 0.0  # training seconds spent before this process started
    sums: list = field(default_factory=list)  # the stats summed since the last row (on the device)
    count: int = 0  # steps summed
    early_stopped_at: int | None = None
    saved_at: int = 0  # the step of the last checkpoint: where a rerun would resume

    def elapsed(self, since: float) -> float:
        return self.elapsed_before + time.perf_counter() - since


@dataclass
class Settings:
    """How the loop runs, from `trainer`: none of it changes a run's numbers except early stopping."""

    cuda_graph: bool = False
    early_stop: bool = False
    patience: int = 3
    show_bar: bool = False  # a tqdm bar (single runs on a terminal); log lines otherwise
    on_rows: Callable[[list[dict]], None] = lambda rows: None  # an experiment tracker (sweeplab.trackers)

    @classmethod
    def from_config(cls, trainer: DictConfig, device: torch.device, job: Job) -> Settings:
        return cls(
            cuda_graph=use_cuda_graph(trainer.cuda_graph, device),
            early_stop=bool(trainer.get("early_stop", False)),
            patience=int(trainer.get("patience", 3)),
            show_bar=job.interactive and not job.multirun,  # parallel jobs' bars would overwrite each other
        )


def resume(task: Task, cfg: DictConfig, out_dir: Path) -> Progress:
    """Progress restored from out_dir's checkpoint (weights, optimizers, generators), or a fresh one."""
    path = out_dir / CHECKPOINT_FILE
    state = checkpoint.load_for_resume(path, cfg, task.device) if path.exists() else None
    if state is None:
        return Progress()
    if state["step"] > task.total_steps:  # it would "complete" with more steps than asked for
        raise ConfigError(
            f"{path} is at step {state['step']}, past the {task.total_steps} steps of this run; resume it with at "
            f"least {state['step']} steps (trainer.steps=..., for the GAN trainer.epochs=...), or choose a new "
            "output dir (hydra.run.dir=...)"
        )
    for name, module in task.modules.items():
        module.load_state_dict(state[name])
    for name, optimizer in task.optimizers.items():
        optimizer.load_state_dict(state[name])
    rng = state["rng"]
    torch.set_rng_state(rng["torch"].cpu())
    if rng.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in rng["cuda"]])
    for name, generator in task.generators.items():
        generator.set_state(rng[name].cpu())
    log.info("resuming from %s at step %d", path, state["step"])
    return Progress(
        step=state["step"],
        saved_at=state["step"],
        rows=state["rows"],
        elapsed_before=state["elapsed_s"],
        sums=list(state["sums"]),
        count=state["count"],
        early_stopped_at=state.get("early_stopped_at"),
    )


def save(task: Task, cfg: DictConfig, progress: Progress, elapsed: float, out_dir: Path) -> None:
    state = {
        **{name: module.state_dict() for name, module in task.modules.items()},
        **{name: optimizer.state_dict() for name, optimizer in task.optimizers.items()},
        "step": progress.step,
        "rows": progress.rows,
        "elapsed_s": elapsed,
        "sums": [s.item() if torch.is_tensor(s) else s for s in progress.sums],
        "count": progress.count,
        "early_stopped_at": progress.early_stopped_at,
        "rng": {
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
            **{name: generator.get_state() for name, generator in task.generators.items()},
        },
    }
    checkpoint.save(out_dir / CHECKPOINT_FILE, state, cfg, task.device)
    progress.saved_at = progress.step


def train(task: Task, cfg: DictConfig, progress: Progress, settings: Settings, out_dir: Path) -> str:
    """Train until `task.total_steps` (or solved, with early stopping); return completed or diverged."""
    try:
        return _train(task, cfg, progress, settings, out_dir)
    except Stopped:
        raise
    except KeyboardInterrupt:  # Python's own handler, before the loop took the signals over
        raise Stopped(signal.SIGINT, progress.saved_at) from None


def _train(task: Task, cfg: DictConfig, progress: Progress, settings: Settings, out_dir: Path) -> str:
    if progress.early_stopped_at is not None:
        if settings.early_stop:
            return COMPLETED  # a run that stopped early and was killed before its summary
        progress.early_stopped_at = None  # continued with early stopping off: it trains on
    optimizers = list(task.optimizers.values())
    for optimizer in optimizers:
        set_capturable(optimizer, settings.cuda_graph, task.device)
    step = None  # built on the first inputs: a CUDA graph captures their shapes and layout
    start = time.perf_counter()
    bar = tqdm(
        total=task.total_steps, initial=progress.step, desc=task.label, disable=not settings.show_bar, leave=False
    )
    # A signal stops the loop only between steps, after a checkpoint of that step: never half-way
    # through writing one, so the step that the message names is the step that a rerun resumes from.
    with bar, logging_redirect_tqdm(), interrupts.stop_requests() as stop_requested:
        while progress.step < task.total_steps:
            inputs = task.draw(progress.step)
            if step is None:
                step = task.compute
                if settings.cuda_graph:
                    log.info("training step captured as a CUDA graph")
                    step = GraphedStep(task.compute, inputs, list(task.modules.values()), optimizers)
            stats = step(*inputs)
            # Summed on the device: no host sync per step.
            # Not in place: a CUDA graph's outputs are overwritten by its next replay.
            progress.sums = [s + x for s, x in zip(progress.sums or [0] * len(stats), stats)]
            progress.count += 1
            progress.step += 1
            bar.update()
            if task.row_due(progress.step) or progress.step == task.total_steps:
                row = task.row(progress.step, [float(s) for s in progress.sums], progress.count)
                row["elapsed_s"] = round(progress.elapsed(start), 3)
                progress.rows.append(row)
                progress.sums, progress.count = [], 0
                log.info("%s", format_row(row, task.total_steps))
                bar.set_postfix_str(format_row(row, task.total_steps, brief=True))
                artifacts.write_csv(out_dir / METRICS_FILE, task.metric_columns, progress.rows)
                settings.on_rows(progress.rows)  # off the hot path: once per row
                if not all(math.isfinite(v) for v in row.values() if isinstance(v, float)):
                    log.warning("a loss is not finite at step %d: the run diverged", progress.step)
                    return DIVERGED
                if settings.early_stop and solved_in_a_row(task, progress.rows) >= settings.patience:
                    progress.early_stopped_at = progress.step
                    log.info(
                        "solved on %d evaluations in a row: stopping early at step %d", settings.patience, progress.step
                    )
            task.after_step(progress.step)
            if task.checkpoint_due(progress.step) or progress.step == task.total_steps or progress.early_stopped_at:
                save(task, cfg, progress, progress.elapsed(start), out_dir)
            if progress.early_stopped_at:
                break
            if (signum := stop_requested()) is not None:
                if progress.saved_at != progress.step:
                    save(task, cfg, progress, progress.elapsed(start), out_dir)
                if signum == signal.SIGTERM:  # a scheduler's (SLURM: scancel, requeue): say so in the log
                    log.warning("stopped by SIGTERM at step %d: checkpointed, a rerun resumes there", progress.step)
                raise Stopped(signum, progress.step)
    return COMPLETED


def solved_in_a_row(task: Task, rows: list[dict]) -> int:
    """How many of the last rows show the task solved (derived from the rows: nothing to checkpoint)."""
    count = 0
    for row in reversed(rows):
        if not task.solved(row):
            break
        count += 1
    return count


def format_row(row: dict, total_steps: int, brief: bool = False) -> str:
    """`step 250/5000  train_loss 0.1234  eval_acc 0.998` (brief: the metrics only)."""
    parts = [] if brief else [f"step {row['step']}/{total_steps}"]
    for key, value in row.items():
        if key in ("step", "elapsed_s"):
            continue
        parts.append(f"{key} {value:.4g}" if isinstance(value, float) else f"{key} {value}")
    return "  ".join(parts)


def progress_numbers(progress: Progress, started_at: int, seconds: float) -> dict:
    """The summary's numbers common to every task."""
    steps_now = progress.step - started_at
    return {
        "steps_done": progress.step,
        "early_stopped_at": progress.early_stopped_at,
        "wall_time_s": round(progress.elapsed_before + seconds, 3) if progress.rows else None,
        "steps_per_s": round(steps_now / seconds, 2) if seconds > 0 and steps_now else None,
    }


def record(task: Task, cfg: DictConfig, job: Job, settings: dict, title: str, finish=None) -> dict:
    """Run `task` in the job's dir and record it in summary.json: its settings, then its numbers as it
    goes, then `finish()`'s (end-of-run work such as quality metrics), then its status, last."""
    out_dir = job.out_dir
    if job.sweep_pid is not None:  # a parallel worker: it ends when its sweep process dies (SIGKILL)
        orphans.end_with_sweep(job.sweep_gone)
    with log_prefix(task.label if job.multirun else None):
        progress = resume(task, cfg, out_dir)
        artifacts.update_summary(
            out_dir,
            **settings,
            device=str(task.device),
            provenance=provenance(str(task.device)),
            **task.results(progress),
            **progress_numbers(progress, progress.step, 0.0),
        )
        tracker = open_tracker(cfg, job, task.label)  # logger=...: a no-op, or a tracker that never raises
        started_at, start = progress.step, time.perf_counter()
        how = replace(Settings.from_config(cfg.trainer, task.device, job), on_rows=tracker.log_rows)
        status = train(task, cfg, progress, how, out_dir)
        numbers = {**task.results(progress), **progress_numbers(progress, started_at, time.perf_counter() - start)}
        artifacts.update_summary(out_dir, **numbers)
        if progress.rows:
            curves.plot_curves(
                progress.rows,
                task.curve_panels,
                f"{title} ({status})",
                out_dir / CURVES_FILE,
                progress.early_stopped_at,
            )
        if finish is not None and status == COMPLETED:
            artifacts.update_summary(out_dir, **finish())
        # The status goes last: a run killed before this line is `running` and gets rerun.
        summary = artifacts.update_summary(out_dir, status=status)
        tracker.finish(summary, settings)
        stopped = f", stopped early at step {progress.early_stopped_at}" if progress.early_stopped_at else ""
        log.info("%s after %d steps%s (%.1f steps/s)", status, progress.step, stopped, numbers["steps_per_s"] or 0.0)
    return summary


@contextlib.contextmanager
def log_prefix(label: str | None):
    """Prefix every log line of this process with `[label]` while the block runs (None: no prefix)."""
    if not label:
        yield
        return

    def add_label(record: logging.LogRecord) -> bool:
        if not getattr(record, "_labelled", False):
            record.msg, record._labelled = f"[{label}] {record.msg}", True
        return True

    handlers = logging.getLogger().handlers
    for handler in handlers:
        handler.addFilter(add_label)
    try:
        yield
    finally:
        for handler in handlers:
            handler.removeFilter(add_label)
