"""Part II: train a DCGAN on MNIST digits.

Each step: a discriminator step on real images (label 1) and detached fakes (label 0), then a
generator step with the non-saturating loss (fakes labelled 1). Epochs are runs of
`steps_per_epoch` steps over a fresh shuffle; a metrics.csv row every `trainer.log_every` steps
and at the end of every epoch, sample grids from fixed noise at the chosen epochs, a checkpoint
every `trainer.checkpoint_every` epochs. At the end: the quality metric and the interpolation
strips (sweeplab.tasks.gan.quality). The loop, checkpoints and resume are sweeplab.loop's.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
import torch.nn.functional as F
from omegaconf import DictConfig

from sweeplab import loop
from sweeplab.build import build
from sweeplab.contract import samples_file
from sweeplab.curves import Panel
from sweeplab.device import describe, prepare
from sweeplab.errors import ConfigError
from sweeplab.job import Job
from sweeplab.models.dcgan import build_dcgan
from sweeplab.tasks.gan.data import load_digits, to_unit_range
from sweeplab.tasks.gan.quality.classifier import check_cache_dir
from sweeplab.tasks.gan.quality.generation import evaluate_generator, save_grid
from sweeplab.tasks.gan.spec import GAN
from sweeplab.tasks.gan.validate import validate

log = logging.getLogger(__name__)

STATS = ("d_loss", "g_loss", "d_x", "d_g_z")


class DCGAN(loop.Task):
    metric_columns = GAN.metric_columns
    curve_panels = [
        Panel("BCE loss", (("d_loss", "D loss"), ("g_loss", "G loss"))),
        Panel("mean discriminator output", (("d_x", "D(x), real"), ("d_g_z", "D(G(z)), fake")), ylim=(-0.02, 1.02)),
    ]

    def __init__(self, cfg: DictConfig, device: torch.device, train_images: torch.Tensor, out_dir: Path):
        trainer = cfg.trainer
        self.device, self.label = device, f"{cfg.gan.name} latent={cfg.gan.latent_size} seed={cfg.seed}"
        self.batch_size, self.latent_size = trainer.batch_size, cfg.gan.latent_size
        cap = trainer.max_steps_per_epoch or len(train_images)  # quick checks cut epochs short
        self.steps_per_epoch = min(len(train_images) // self.batch_size, cap)
        self.total_steps = trainer.epochs * self.steps_per_epoch
        self.log_every, self.checkpoint_every = trainer.log_every, trainer.checkpoint_every
        # sample grids: the chosen epochs, or the first, the middle and the last
        self.grid_epochs = set(trainer.sample_epochs or (1, (trainer.epochs + 1) // 2, trainer.epochs))
        self.memory_format = torch.channels_last if trainer.channels_last else torch.contiguous_format
        torch.manual_seed(cfg.seed)  # the networks' initial weights
        self.generator, self.discriminator = build_dcgan(cfg.gan.latent_size, cfg.gan.width)
        for net in (self.generator, self.discriminator):
            net.to(device, memory_format=self.memory_format)  # NHWC: what cuDNN's fastest convolutions read
        self.opt_g = build("optim", cfg.optim, self.generator.parameters())
        self.opt_d = build("optim", cfg.optim, self.discriminator.parameters())
        self.modules = {"generator": self.generator, "discriminator": self.discriminator}
        self.optimizers = {"opt_g": self.opt_g, "opt_d": self.opt_d}
        self.shuffle = torch.Generator().manual_seed(cfg.seed)
        self.generators = {"shuffle": self.shuffle}
        noise = torch.Generator().manual_seed(cfg.seed)
        self.fixed_noise = torch.randn(trainer.samples, cfg.gan.latent_size, generator=noise).to(device)
        self.train_images = train_images.to(device)
        self.out_dir = out_dir  # the sample grids

    def draw(self, step: int):
        i = step % self.steps_per_epoch
        if i == 0:  # a new epoch (a resume starts at one too: checkpoints are at epochs' ends)
            self.generator.train()
            self.discriminator.train()
            self.order = torch.randperm(len(self.train_images), generator=self.shuffle).to(self.device)
        real = to_unit_range(self.train_images[self.order[i * self.batch_size : (i + 1) * self.batch_size]])
        noise = torch.randn(self.batch_size, self.latent_size, device=self.device)
        return real.contiguous(memory_format=self.memory_format), noise

    def compute(self, real: torch.Tensor, noise: torch.Tensor):
        return train_step(self.generator, self.discriminator, self.opt_g, self.opt_d, real, noise)

    def row_due(self, steps_done: int) -> bool:
        return steps_done % self.log_every == 0 or steps_done % self.steps_per_epoch == 0

    def row(self, steps_done: int, sums: list[float], count: int) -> dict:
        epoch = (steps_done - 1) // self.steps_per_epoch + 1  # the epoch this step belongs to
        return {"step": steps_done, "epoch": epoch, **{k: s / count for k, s in zip(STATS, sums)}}

    def after_step(self, steps_done: int) -> None:
        epoch = steps_done // self.steps_per_epoch
        if steps_done % self.steps_per_epoch == 0 and epoch in self.grid_epochs:
            with torch.no_grad():
                self.generator.eval()
                save_grid(self.generator(self.fixed_noise), self.out_dir / samples_file(epoch), nrow=8)

    def checkpoint_due(self, steps_done: int) -> bool:
        return steps_done % (self.checkpoint_every * self.steps_per_epoch) == 0

    def results(self, progress: loop.Progress) -> dict:
        last = progress.rows[-1] if progress.rows else {}
        seconds = (progress.rows[-1]["elapsed_s"] if progress.rows else 0.0) or 0.0
        return {
            "epochs_done": progress.step // self.steps_per_epoch,
            **{f"final_{key}": last.get(key) for key in STATS},
            "s_per_epoch": round(seconds / progress.step * self.steps_per_epoch, 2) if progress.step else None,
        }


def train_step(generator, discriminator, opt_g, opt_d, real, noise):
    """One discriminator step, then one generator step; returns (d_loss, g_loss, D(x), D(G(z)))."""
    ones = torch.ones(real.size(0), device=real.device)
    zeros = torch.zeros(real.size(0), device=real.device)

    # Discriminator: real -> 1, fake -> 0 (the fakes are detached: no gradient into G here).
    opt_d.zero_grad(set_to_none=True)
    logits_real = discriminator(real)
    fake = generator(noise)
    logits_fake = discriminator(fake.detach())
    d_loss = F.binary_cross_entropy_with_logits(logits_real, ones) + F.binary_cross_entropy_with_logits(
        logits_fake, zeros
    )
    d_loss.backward()
    opt_d.step()

    # Generator, non-saturating: maximise log D(G(z)), i.e. label the fakes 1.
    opt_g.zero_grad(set_to_none=True)
    g_loss = F.binary_cross_entropy_with_logits(discriminator(fake), ones)
    g_loss.backward()
    opt_g.step()
    return (
        d_loss.detach(),
        g_loss.detach(),
        torch.sigmoid(logits_real.detach()).mean(),
        torch.sigmoid(logits_fake.detach()).mean(),
    )


def run(cfg: DictConfig, job: Job) -> dict:
    validate(cfg)
    if cfg.quality.enabled:  # a cache dir that cannot be written fails now, not after the training
        check_cache_dir(cfg.quality.cache_dir)
    device = prepare(cfg)  # also refuses a run that cannot fit, before it allocates
    splits = load_digits(cfg.data)
    if cfg.trainer.batch_size > len(splits.train):
        raise ConfigError(
            f"trainer.batch_size={cfg.trainer.batch_size} is larger than the {len(splits.train)} "
            f"GAN training digits of data={cfg.data.name}; use a smaller batch or more data"
        )
    task = DCGAN(cfg, device, splits.train, job.out_dir)
    settings = {
        "gan": cfg.gan.name,
        "data": cfg.data.name,
        "train_digits": len(splits.train),
        "latent_size": cfg.gan.latent_size,
        "width": cfg.gan.width,
        "seed": cfg.seed,
        "optimizer": cfg.optim.name,
        "lr": cfg.optim.lr,
        "batch_size": cfg.trainer.batch_size,
        "epochs": cfg.trainer.epochs,
        "steps_per_epoch": task.steps_per_epoch,
        "n_params_g": sum(p.numel() for p in task.generator.parameters()),
        "n_params_d": sum(p.numel() for p in task.discriminator.parameters()),
    }
    log.info(
        "DCGAN on %s (%d digits) on %s: G %d, D %d parameters, %d epoch(s) of %d steps",
        cfg.data.name, len(splits.train), describe(device), settings["n_params_g"], settings["n_params_d"],
        cfg.trainer.epochs, task.steps_per_epoch,
    )  # fmt: skip
    return loop.record(
        task, cfg, job, settings, title=f"DCGAN on {cfg.data.name}, seed {cfg.seed}",
        finish=lambda: evaluate_generator(cfg, task.generator, splits, device, job.out_dir),
    )  # fmt: skip
