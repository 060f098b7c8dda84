"""Latent interpolation: 9 frames between two latent vectors, linear and slerp, one PNG strip each.

Runs at the end of GAN training, and on demand from a checkpoint:
`sweeplab task=interpolate ckpt=RUN_DIR` (the run's checkpoint.pt) writes the strips and a
summary.json into its own run dir. The endpoints are chosen among `interpolation.candidates`
random latents so that the quality classifier reads them confidently as two different digits.
"""

import logging
from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf
from torchvision.utils import make_grid, save_image

from sweeplab import artifacts
from sweeplab.config import validate_interpolation
from sweeplab.device import resolve_device
from sweeplab.errors import ConfigError
from sweeplab.interpolation import path as latent_path

log = logging.getLogger(__name__)

KINDS = ("linear", "slerp")


def strip_file(kind: str) -> str:
    return f"interpolation_{kind}.png"


def save_grid(images: torch.Tensor, path: Path, nrow: int) -> None:
    """Images in [-1, 1] -> one PNG grid, written atomically."""
    grid = make_grid(images.detach().cpu(), nrow=nrow, padding=2, normalize=True, value_range=(-1, 1))
    artifacts.atomic_write(path, lambda f: save_image(grid, f, format="png"))


@torch.no_grad()
def choose_endpoints(generator_net, classifier, latent_size, interp_cfg, rng: torch.Generator, device):
    """Two latents whose images the classifier reads as two different digits, as confidently as possible."""
    z = torch.randn(interp_cfg.candidates, latent_size, generator=rng).to(device)
    probs = torch.softmax(classifier(generator_net(z)), dim=1)
    confidence, predicted = probs.max(dim=1)

    first, fixed_second = interp_cfg.from_digit, interp_cfg.to_digit
    if first is not None:
        i = int(probs[:, first].argmax())
    else:  # the most confident candidate that does not read as a requested `to_digit`
        allowed = confidence if fixed_second is None else confidence.masked_fill(predicted == fixed_second, -1.0)
        i = int(allowed.argmax())
        first = int(predicted[i])
        if first == fixed_second:  # every candidate reads as to_digit: take the next most likely digit
            others = probs[i].clone()
            others[fixed_second] = -1.0
            first = int(others.argmax())

    second = interp_cfg.to_digit
    if second is not None:
        j = int(probs[:, second].argmax())
    else:
        scores = torch.where(predicted != first, confidence, torch.full_like(confidence, -1.0))
        j = int(scores.argmax())
        if scores[j] < 0:  # every candidate reads as `first` (mode collapse): the one least like it
            j = int(probs[:, first].argmin())
        others = probs[j].clone()
        others[first] = -1.0
        second = int(others.argmax())
    return z[i], z[j], {
        "from_digit": first,
        "to_digit": second,
        "from_confidence": round(float(probs[i, first]), 4),
        "to_confidence": round(float(probs[j, second]), 4),
    }


@torch.no_grad()
def interpolate(generator_net, classifier, latent_size, interp_cfg, seed: int, out_dir: Path, device) -> dict:
    """Write both strips into out_dir; return what the classifier reads along each path."""
    generator_net.eval()
    rng = torch.Generator().manual_seed(seed)
    if classifier is None:  # no quality classifier: two random latents
        z0, z1 = torch.randn(2, latent_size, generator=rng).to(device)
        info = {"endpoints": "random"}
    else:
        classifier = classifier.to(device).eval()
        z0, z1, info = choose_endpoints(generator_net, classifier, latent_size, interp_cfg, rng, device)
        info["endpoints"] = "classifier"
    for kind in KINDS:
        zs = latent_path(z0.cpu(), z1.cpu(), interp_cfg.frames, kind).to(device)
        images = generator_net(zs)
        save_grid(images, out_dir / strip_file(kind), nrow=interp_cfg.frames)
        info[f"{kind}_norms"] = [round(float(n), 3) for n in zs.norm(dim=1)]
        if classifier is not None:
            info[f"{kind}_digits"] = classifier(images).argmax(1).tolist()
    log.info(
        "interpolation %s -> %s: linear reads %s, slerp reads %s",
        info.get("from_digit"), info.get("to_digit"), info.get("linear_digits"), info.get("slerp_digits"),
    )
    return info


def checkpoint_path(ckpt) -> Path:
    if ckpt is None or str(ckpt) in ("", "???"):
        raise ConfigError("task=interpolate needs ckpt=PATH: a GAN run dir or its checkpoint.pt")
    path = Path(str(ckpt)).expanduser()
    if path.is_dir():
        path = path / artifacts.CHECKPOINT_FILE
    if not path.is_file():
        raise ConfigError(f"ckpt={ckpt}: no GAN checkpoint there (expected a run dir holding {artifacts.CHECKPOINT_FILE}, or the file)")
    return path


def run(cfg: DictConfig, out_dir: Path, overrides: list[str]) -> dict:
    from sweeplab.data.mnist import load_digits
    from sweeplab.models.dcgan import Generator
    from sweeplab.quality import load_or_train_classifier

    path = checkpoint_path(cfg.get("ckpt"))
    validate_interpolation(cfg)
    device = resolve_device(cfg.trainer.device)
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=False)
        saved = OmegaConf.create(checkpoint["config"])
        state = checkpoint["generator"]
    except Exception as exc:
        raise ConfigError(f"ckpt={path} is not a GAN checkpoint written by sweeplab task=gan ({type(exc).__name__})") from exc
    generator_net = Generator(saved.gan.latent_size, saved.gan.width)
    generator_net.load_state_dict(state)
    generator_net.to(device)

    summary = {
        "status": "running",
        "task": "interpolate",
        "ckpt": str(path),
        "seed": cfg.seed,
        "frames": cfg.interpolation.frames,
        "device": str(device),
        "overrides": overrides,
        "error": None,
    }
    summary = artifacts.update_summary(out_dir, **summary)  # keeps the runner's `config`
    quality_cfg = OmegaConf.merge(saved.quality, {"cache_dir": cfg.quality.cache_dir})
    classifier, classifier_info = load_or_train_classifier(load_digits(saved.data), quality_cfg)
    info = interpolate(generator_net, classifier, saved.gan.latent_size, cfg.interpolation, cfg.seed, out_dir, device)
    summary.update(status="completed", interpolation=info, **classifier_info)
    summary = artifacts.update_summary(out_dir, **summary)  # keeps the runner's `config`
    log.info("wrote %s and %s in %s", strip_file("linear"), strip_file("slerp"), out_dir)
    return summary
