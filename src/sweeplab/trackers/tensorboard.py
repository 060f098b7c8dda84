"""logger=tensorboard: event files in each job dir (`tensorboard --logdir SWEEP_DIR` shows a sweep,
one TensorBoard run per job dir). A resumed job adds a new event file beside the old ones, with only
the steps they do not hold yet."""

from __future__ import annotations

import json
from pathlib import Path

from omegaconf import DictConfig

from sweeplab.job import Job
from sweeplab.trackers import Backend, images, installed, missing_extra, params, rows_on_disk, run_key

EVENTS = "events.out.tfevents.*"


def require() -> None:
    if not installed("tensorboard"):
        raise missing_extra("tensorboard", "tensorboard", "tensorboard")


def open(logger: DictConfig, config: dict, job: Job, label: str) -> TensorBoardRun:
    from torch.utils.tensorboard import SummaryWriter

    steps = last_steps(job.out_dir)
    writer = SummaryWriter(log_dir=str(job.out_dir))
    if "config" not in steps:  # the run's identity, once: its label, sweep, identity key and settings
        about = {"label": label, "identity": run_key(config), "run_dir": str(job.out_dir), "params": params(config)}
        writer.add_text("config", f"```\n{json.dumps(about, indent=1)}\n```", 0)
        writer.flush()
    return TensorBoardRun(writer, steps, job.out_dir)


def last_steps(out_dir: Path) -> dict[str, int]:
    """The last step the job dir's event files hold for each tag (a torn last record is ignored)."""
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    steps: dict[str, int] = {}
    for path in sorted(Path(out_dir).glob(EVENTS)):
        for event in EventFileLoader(str(path)).Load():
            for value in event.summary.value:
                steps[value.tag] = max(event.step, steps.get(value.tag, -1))
    return steps


class TensorBoardRun(Backend):
    def __init__(self, writer, steps: dict[str, int], out_dir: Path):
        super().__init__(steps)
        self.writer, self.out_dir = writer, out_dir

    def log_values(self, values: list[tuple[str, float, int]]) -> None:
        for name, value, step in values:
            self.writer.add_scalar(name, value, step)
        self.writer.flush()  # on disk with its row: a kill after this loses nothing

    def finish(self, summary: dict, settings: dict) -> None:
        import matplotlib.image

        step = summary.get("steps_done") or 0
        self.log_rows(rows_on_disk(self.out_dir))
        values = self.summary_values(summary, settings)
        for name, value, at in values:
            self.writer.add_scalar(name, value, at)
        for image in images(self.out_dir):
            if step > self.last_steps.get(image.stem, -1):
                pixels = matplotlib.image.imread(image)
                if pixels.ndim == 2:
                    self.writer.add_image(image.stem, pixels, step, dataformats="HW")
                else:
                    self.writer.add_image(image.stem, pixels[..., :3], step, dataformats="HWC")
        self.writer.close()
