"""Part II: train a DCGAN on MNIST digits.

Each step: a discriminator step on real images (label 1) and detached fakes (label 0), then a
generator step with the non-saturating loss (fakes labelled 1). A metrics.csv row every
`trainer.log_every` steps and at the end of every epoch; sample grids from fixed noise at the
chosen epochs; a checkpoint every `trainer.checkpoint_every` epochs (a rerun in the same dir
continues from it). At the end: the loss curves, the quality metric and the interpolation strips.
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
from sweeplab.config import validate_gan
from sweeplab.cuda_graph import GraphedGANStep, set_capturable, use_cuda_graph
from sweeplab.data.mnist import load_digits, to_unit_range
from sweeplab.device import describe, prepare
from sweeplab.errors import ConfigError
from sweeplab.models.dcgan import build_dcgan
from sweeplab.plots import plt
from sweeplab.tasks.interpolate import interpolate, save_grid

log = logging.getLogger(__name__)

METRIC_COLUMNS = ["step", "epoch", "d_loss", "g_loss", "d_x", "d_g_z", "elapsed_s"]
STATS = ("d_loss", "g_loss", "d_x", "d_g_z")
RESUMABLE_CHANGES = ("trainer.epochs", "trainer.sample_epochs")


def samples_file(epoch: int) -> str:
    return f"samples_epoch_{epoch:03d}.png"


@dataclass
class Progress:
    epoch: int = 0  # epochs completed
    step: int = 0
    rows: list = field(default_factory=list)
    elapsed_before: float = 0.0
    sums: dict = field(default_factory=dict)  # STATS summed since the last row (on the device)
    count: int = 0


def sample_epochs(trainer) -> set[int]:
    if trainer.sample_epochs is not None:
        return set(trainer.sample_epochs)
    return {1, (trainer.epochs + 1) // 2, trainer.epochs}


def run(cfg: DictConfig, out_dir: Path, overrides: list[str]) -> dict:
    validate_gan(cfg)
    device = prepare(cfg.trainer)
    use_cuda_graph(cfg.trainer.cuda_graph, device)  # refuses `true` without a GPU before any work
    splits = load_digits(cfg.data)
    if cfg.trainer.batch_size > len(splits.train):
        raise ConfigError(
            f"trainer.batch_size={cfg.trainer.batch_size} is larger than the {len(splits.train)} "
            f"GAN training digits of data={cfg.data.name}; use a smaller batch or more data"
        )
    torch.manual_seed(cfg.seed)
    generator_net, discriminator = build_dcgan(cfg.gan.latent_size, cfg.gan.width)
    generator_net.to(device)
    discriminator.to(device)
    if cfg.trainer.channels_last:  # NHWC: the layout cuDNN's fastest convolutions read and write
        generator_net.to(memory_format=torch.channels_last)
        discriminator.to(memory_format=torch.channels_last)
    betas = (cfg.gan.beta1, cfg.gan.beta2)
    opt_g = torch.optim.Adam(generator_net.parameters(), lr=cfg.gan.lr, betas=betas)
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=cfg.gan.lr, betas=betas)
    shuffle = torch.Generator().manual_seed(cfg.seed)
    fixed_noise = torch.randn(cfg.trainer.samples, cfg.gan.latent_size, generator=torch.Generator().manual_seed(cfg.seed))
    fixed_noise = fixed_noise.to(device)
    nets = (generator_net, discriminator, opt_g, opt_d)

    progress = Progress()
    checkpoint_file = out_dir / artifacts.CHECKPOINT_FILE
    if checkpoint_file.exists():
        progress = load_checkpoint(checkpoint_file, cfg, nets, shuffle, device)
        log.info("resuming from %s after epoch %d", checkpoint_file, progress.epoch)

    steps_per_epoch = len(splits.train) // cfg.trainer.batch_size
    if cfg.trainer.max_steps_per_epoch is not None:
        steps_per_epoch = min(steps_per_epoch, cfg.trainer.max_steps_per_epoch)
    summary = {
        "status": "running",
        "task": "gan",
        "gan": cfg.gan.name,
        "data": cfg.data.name,
        "train_digits": len(splits.train),
        "latent_size": cfg.gan.latent_size,
        "width": cfg.gan.width,
        "seed": cfg.seed,
        "lr": cfg.gan.lr,
        "betas": list(betas),
        "batch_size": cfg.trainer.batch_size,
        "epochs": cfg.trainer.epochs,
        "steps_per_epoch": steps_per_epoch,
        "device": str(device),
        "n_params_g": sum(p.numel() for p in generator_net.parameters()),
        "n_params_d": sum(p.numel() for p in discriminator.parameters()),
        "torch_version": torch.__version__,
        "overrides": overrides,
        "error": None,
    }
    summary.update(headline(progress, progress.step, 0.0, steps_per_epoch))
    summary = artifacts.update_summary(out_dir, **summary)  # keeps the runner's `config`
    log.info(
        "DCGAN on %s (%d digits) on %s: G %d, D %d parameters, %d epochs of %d steps",
        cfg.data.name, len(splits.train), describe(device), summary["n_params_g"], summary["n_params_d"],
        cfg.trainer.epochs, steps_per_epoch,
    )

    train_images = splits.train.to(device)
    started_at, start = progress.step, time.perf_counter()
    status = train(cfg, nets, train_images, shuffle, fixed_noise, steps_per_epoch, progress, out_dir)
    seconds = time.perf_counter() - start
    summary.update(headline(progress, started_at, seconds, steps_per_epoch))
    summary = artifacts.update_summary(out_dir, **summary)  # keeps the runner's `config`
    if progress.rows:
        plot_gan_curves(progress.rows, f"DCGAN on {cfg.data.name}, seed {cfg.seed} ({status})", out_dir / artifacts.CURVES_FILE)

    if status == "completed":
        classifier = None
        if cfg.quality.enabled:
            summary.update(measure_quality(cfg, generator_net, splits, device))
            classifier = summary.pop("_classifier")
        if cfg.interpolation.enabled:
            summary["interpolation"] = interpolate(
                generator_net, classifier, cfg.gan.latent_size, cfg.interpolation, cfg.seed, out_dir, device
            )
    # The status goes last: a run killed before this line is `running` and gets rerun.
    summary["status"] = status
    summary = artifacts.update_summary(out_dir, **summary)
    log.info(
        "%s after %d epochs (%.1f s/epoch): D loss %s, G loss %s, Frechet distance %s, classes covered %s",
        status, progress.epoch, summary["s_per_epoch"] or 0.0, summary["final_d_loss"], summary["final_g_loss"],
        summary.get("fid"), summary.get("classes_covered"),
    )
    return summary


def train(cfg, nets, train_images, shuffle, fixed_noise, steps_per_epoch, progress: Progress, out_dir: Path) -> str:
    """Train until `trainer.epochs`; return `completed` or `diverged` (a non-finite loss)."""
    generator_net, discriminator, opt_g, opt_d = nets
    trainer = cfg.trainer
    batch = trainer.batch_size
    memory_format = torch.channels_last if trainer.channels_last else torch.contiguous_format
    step = None  # built on the first batch (a CUDA graph captures that batch's shape and layout)
    grids = sample_epochs(trainer)
    start = time.perf_counter()
    bar = tqdm(
        total=trainer.epochs * steps_per_epoch,
        initial=progress.step,
        desc=f"DCGAN {cfg.data.name}",
        disable=None,
        leave=False,
    )
    with bar, logging_redirect_tqdm():
        for epoch in range(progress.epoch + 1, trainer.epochs + 1):
            generator_net.train()
            discriminator.train()
            order = torch.randperm(len(train_images), generator=shuffle).to(train_images.device)
            for i in range(steps_per_epoch):
                real = to_unit_range(train_images[order[i * batch : (i + 1) * batch]])
                real = real.contiguous(memory_format=memory_format)
                if step is None:
                    step = make_step(cfg, nets, real)
                stats = step(real)
                for key, value in zip(STATS, stats):
                    progress.sums[key] = progress.sums.get(key, 0.0) + value
                progress.count += 1
                progress.step += 1
                bar.update()
                if progress.step % trainer.log_every == 0 or i == steps_per_epoch - 1:
                    row = metrics_row(progress, epoch, progress.elapsed_before + time.perf_counter() - start)
                    bar.set_postfix(d_loss=f"{row['d_loss']:.3f}", g_loss=f"{row['g_loss']:.3f}")
                    log.info(
                        "epoch %d/%d step %d  d_loss %.4f  g_loss %.4f  D(x) %.3f  D(G(z)) %.3f",
                        epoch, trainer.epochs, row["step"], row["d_loss"], row["g_loss"], row["d_x"], row["d_g_z"],
                    )
                    artifacts.write_csv(out_dir / artifacts.METRICS_FILE, METRIC_COLUMNS, progress.rows)
                    if not (math.isfinite(row["d_loss"]) and math.isfinite(row["g_loss"])):
                        log.warning("loss is not finite at step %d: the run diverged", row["step"])
                        return "diverged"
            progress.epoch = epoch
            if epoch in grids:
                with torch.no_grad():
                    generator_net.eval()
                    save_grid(generator_net(fixed_noise), out_dir / samples_file(epoch), nrow=8)
            if epoch % trainer.checkpoint_every == 0 or epoch == trainer.epochs:
                elapsed = progress.elapsed_before + time.perf_counter() - start
                save_checkpoint(out_dir / artifacts.CHECKPOINT_FILE, cfg, nets, shuffle, progress, elapsed)
    return "completed"


def make_step(cfg, nets, real_like: torch.Tensor):
    """The training step as a function of a real batch: eager, or a replayed CUDA graph."""
    graphed = use_cuda_graph(cfg.trainer.cuda_graph, real_like.device)
    for optimizer in nets[2:]:
        set_capturable(optimizer, graphed, real_like.device)
    if graphed:
        log.info("training step captured as a CUDA graph")
        return GraphedGANStep(train_step, nets, real_like, cfg.gan.latent_size)
    latent = cfg.gan.latent_size

    def eager_step(real):
        noise = torch.randn(real.size(0), latent, device=real.device)
        return train_step(*nets, real, noise)

    return eager_step


def train_step(generator_net, discriminator, opt_g, opt_d, real, noise):
    """One discriminator step, then one generator step; returns (d_loss, g_loss, D(x), D(G(z))) tensors."""
    n = real.size(0)
    ones = torch.ones(n, device=real.device)
    zeros = torch.zeros(n, device=real.device)

    # Discriminator: real -> 1, fake -> 0 (the fakes are detached: no gradient into G here).
    opt_d.zero_grad(set_to_none=True)
    logits_real = discriminator(real)
    fake = generator_net(noise)
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


def metrics_row(progress: Progress, epoch: int, elapsed: float) -> dict:
    row = {"step": progress.step, "epoch": epoch}
    row.update({key: float(progress.sums[key]) / progress.count for key in STATS})
    row["elapsed_s"] = round(elapsed, 3)
    progress.rows.append(row)
    progress.sums, progress.count = {}, 0
    return row


def headline(progress: Progress, started_at: int, seconds: float, steps_per_epoch: int) -> dict:
    last = progress.rows[-1] if progress.rows else {}
    steps_now = progress.step - started_at
    return {
        "epochs_done": progress.epoch,
        "steps_done": progress.step,
        **{f"final_{key}": last.get(key) for key in STATS},
        "wall_time_s": round(progress.elapsed_before + seconds, 3) if progress.rows else None,
        "s_per_epoch": round(seconds / steps_now * steps_per_epoch, 2) if seconds > 0 and steps_now else None,
    }


@torch.no_grad()
def generate(generator_net, n: int, latent_size: int, seed: int, device, batch: int = 500) -> torch.Tensor:
    generator_net.eval()
    rng = torch.Generator().manual_seed(seed)
    z = torch.randn(n, latent_size, generator=rng)
    return torch.cat([generator_net(chunk.to(device)) for chunk in z.split(batch)])


def measure_quality(cfg, generator_net, splits, device) -> dict:
    """Frechet distance (generated vs held-out real, and the real-vs-real floor) and class coverage."""
    from sweeplab.quality import class_coverage, frechet_distance, load_or_train_classifier

    classifier, info = load_or_train_classifier(splits, cfg.quality)
    classifier = classifier.to(device)
    n = cfg.quality.samples
    reference = to_unit_range(splits.reference).to(device)
    fake = generate(generator_net, n, cfg.gan.latent_size, cfg.seed + 1, device)
    real_train = to_unit_range(splits.train[:n]).to(device)
    result = {
        "fid": round(frechet_distance(classifier, reference, fake), 4),
        # the same distance between real training digits and the reference: what a perfect G would get
        "fid_real_floor": round(frechet_distance(classifier, reference, real_train), 4),
        "fid_samples": n,
        "fid_reference": len(reference),
        **class_coverage(classifier, fake),
        **info,
    }
    log.info(
        "quality: Frechet distance %.3f (real-vs-real floor %.3f), class histogram %s, entropy %.3f bits",
        result["fid"], result["fid_real_floor"], result["class_histogram"], result["class_entropy_bits"],
    )
    result["_classifier"] = classifier
    return result


def plot_gan_curves(rows: list[dict], title: str, path: Path) -> None:
    steps = [r["step"] for r in rows]
    fig, (ax_loss, ax_d) = plt.subplots(1, 2, figsize=(10, 4))
    ax_loss.plot(steps, [r["d_loss"] for r in rows], label="D loss")
    ax_loss.plot(steps, [r["g_loss"] for r in rows], label="G loss")
    ax_loss.set_ylabel("BCE loss")
    ax_d.plot(steps, [r["d_x"] for r in rows], label="D(x), real")
    ax_d.plot(steps, [r["d_g_z"] for r in rows], label="D(G(z)), fake")
    ax_d.set_ylabel("mean discriminator output")
    ax_d.set_ylim(-0.02, 1.02)
    for ax in (ax_loss, ax_d):
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    artifacts.atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=100))
    plt.close(fig)


def save_checkpoint(path, cfg, nets, shuffle, progress: Progress, elapsed: float) -> None:
    generator_net, discriminator, opt_g, opt_d = nets
    artifacts.save_torch(
        path,
        {
            "generator": generator_net.state_dict(),
            "discriminator": discriminator.state_dict(),
            "opt_g": opt_g.state_dict(),
            "opt_d": opt_d.state_dict(),
            "epoch": progress.epoch,
            "step": progress.step,
            "rows": progress.rows,
            "elapsed_s": elapsed,
            "rng": {
                "shuffle": shuffle.get_state(),
                "torch": torch.get_rng_state(),
                # the noise of every step is drawn on the device: on a GPU, from CUDA's generator
                "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
            },
            "device_type": next(generator_net.parameters()).device.type,
            "config": OmegaConf.to_container(cfg, resolve=True),
        },
    )


def load_checkpoint(path, cfg, nets, shuffle, device) -> Progress:
    generator_net, discriminator, opt_g, opt_d = nets
    checkpoint = load_for_resume(path, cfg, RESUMABLE_CHANGES, device)
    generator_net.load_state_dict(checkpoint["generator"])
    discriminator.load_state_dict(checkpoint["discriminator"])
    opt_g.load_state_dict(checkpoint["opt_g"])
    opt_d.load_state_dict(checkpoint["opt_d"])
    shuffle.set_state(checkpoint["rng"]["shuffle"].cpu())
    torch.set_rng_state(checkpoint["rng"]["torch"].cpu())
    if checkpoint["rng"].get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([state.cpu() for state in checkpoint["rng"]["cuda"]])
    return Progress(
        epoch=checkpoint["epoch"], step=checkpoint["step"], rows=checkpoint["rows"], elapsed_before=checkpoint["elapsed_s"]
    )
