"""task=interpolate: the interpolation strips of a trained GAN, from its checkpoint.

`sweeplab task=interpolate ckpt=RUN_DIR` (the run's checkpoint.pt, or the file itself) writes the
two strips and a summary.json into its own run dir (sweeplab.tasks.gan.quality.interpolation).

The checkpoint is untrusted input (a shared or downloaded run dir): it is loaded with
`weights_only=True`, so a file carrying any Python object beyond tensors and plain containers is
refused instead of run. The generator is built from the shapes of its weights; the saved config
only has to agree with them, and gives the data split and classifier settings (whose values are
checked). Paths come from this command's config, never from the file.
"""

import logging
import os
from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf

from sweeplab import artifacts
from sweeplab.checkpoint import Damaged
from sweeplab.checkpoint import read as read_torch_file
from sweeplab.contract import CHECKPOINT_FILE
from sweeplab.device import resolve_device
from sweeplab.errors import ConfigError, UsageError
from sweeplab.job import Job
from sweeplab.tasks.gan.validate import validate_interpolation

log = logging.getLogger(__name__)

NOT_OURS = "use the checkpoint.pt of a sweeplab task=gan run"
_MISSING = object()
#: the saved settings the strips depend on: the data split and the classifier (kind, allowed values)
SAVED_SETTINGS = {
    "gan.latent_size": "positive",
    "gan.width": "positive",
    "data.name": "source",
    "data.split_seed": "non-negative",
    "data.classifier_size": "positive",
    "data.reference_size": "positive",
    "data.train_size": "positive, null or absent",
    "quality.classifier_steps": "positive",
    "quality.classifier_batch_size": "positive",
    "quality.classifier_seed": "non-negative",
}


def checkpoint_path(ckpt) -> Path:
    if ckpt is None or str(ckpt) in ("", "???"):
        raise ConfigError("task=interpolate needs ckpt=PATH: a GAN run dir or its checkpoint.pt")
    path = Path(str(ckpt)).expanduser()
    try:
        if path.is_dir():
            if not os.access(path, os.R_OK | os.X_OK):
                raise PermissionError(13, "Permission denied", str(path))
            path = path / CHECKPOINT_FILE
        found = path.is_file()
    except PermissionError:
        raise UsageError(
            f"ckpt={ckpt}: permission denied; make it readable for this user or copy the run dir"
        ) from None
    if not found:
        raise ConfigError(
            f"ckpt={ckpt}: no GAN checkpoint there (expected a run dir holding {CHECKPOINT_FILE}, or the file)"
        )
    return path


def read_checkpoint(path: Path) -> dict:
    """The checkpoint's tensors and plain containers; anything else refused in one line."""
    try:
        state = read_torch_file(path, name=f"ckpt={path}")
    except Damaged as exc:
        raise UsageError(f"{exc}; {NOT_OURS}") from None
    for key in ("generator", "config"):
        if not isinstance(state.get(key), dict):
            raise UsageError(f"ckpt={path} lacks its {key!r} entry, so it is not a GAN checkpoint; {NOT_OURS}")
    return state


def saved_settings(checkpoint: dict, path: Path) -> dict:
    """{key: value} of the saved settings the strips depend on, each present and of an allowed value.

    Read from the plain dict (never through OmegaConf, which would resolve `${...}` in a crafted file).
    """
    from sweeplab.tasks.gan.data import SOURCES

    allowed = {
        "positive": (lambda v: type(v) is int and v > 0, "a positive integer"),
        "non-negative": (lambda v: type(v) is int and v >= 0, "a non-negative integer"),
        "positive, null or absent": (lambda v: v is None or (type(v) is int and v > 0), "null or a positive integer"),
        "source": (lambda v: v in SOURCES, "one of " + ", ".join(SOURCES)),
    }
    settings = {}
    for key, kind in SAVED_SETTINGS.items():
        node = checkpoint["config"]
        for part in key.split("."):
            node = node.get(part, _MISSING) if isinstance(node, dict) else _MISSING
        if node is _MISSING and kind.endswith("absent"):
            node = None
        elif node is _MISSING:
            raise UsageError(f"ckpt={path}: its config lacks {key}, so it is not a GAN checkpoint; {NOT_OURS}")
        ok, what = allowed[kind]
        if not ok(node):
            raise UsageError(f"ckpt={path}: its config has {key}={node!r:.40}, which must be {what}; {NOT_OURS}")
        settings[key] = node
    return settings


def preflight(cfg: DictConfig) -> None:
    """The checkpoint is there, loadable and from a GAN run with settings it can use (before any dir)."""
    path = checkpoint_path(cfg.get("ckpt"))
    saved_settings(read_checkpoint(path), path)


def build_generator(checkpoint: dict, saved: dict, path: Path):
    """The DCGAN generator sized by its weights (the config only has to agree), with those weights."""
    from sweeplab.models.dcgan import Generator

    state = checkpoint["generator"]
    first = state.get("net.0.weight")  # ConvTranspose2d(latent_size, 4 * width, 4): (latent, 4 * width, 4, 4)
    if not isinstance(first, torch.Tensor) or first.dim() != 4 or first.shape[1] % 4:
        raise UsageError(f"ckpt={path}: its generator weights are not those of the DCGAN generator; {NOT_OURS}")
    latent_size, width = first.shape[0], first.shape[1] // 4
    if (latent_size, width) != (saved["gan.latent_size"], saved["gan.width"]):
        raise UsageError(
            f"ckpt={path}: its generator weights are of gan.latent_size={latent_size} gan.width={width} but its "
            f"config says gan.latent_size={saved['gan.latent_size']} gan.width={saved['gan.width']}; the file was "
            f"edited or damaged ({NOT_OURS})"
        )
    generator_net = Generator(latent_size, width)
    try:
        generator_net.load_state_dict(state)
    except (RuntimeError, TypeError, KeyError, AttributeError) as exc:  # wrong shapes, names or types
        reason = str(exc).splitlines()[0][:160]
        raise UsageError(
            f"ckpt={path}: its generator weights do not fit the DCGAN generator ({reason}); {NOT_OURS}"
        ) from None
    return generator_net


def run(cfg: DictConfig, job: Job) -> dict:
    out_dir = job.out_dir
    from sweeplab.tasks.gan.data import load_digits
    from sweeplab.tasks.gan.quality import interpolation
    from sweeplab.tasks.gan.quality.classifier import check_cache_dir, load_or_train_classifier

    path = checkpoint_path(cfg.get("ckpt"))
    validate_interpolation(cfg)
    device = resolve_device(cfg.trainer.device)
    check_cache_dir(cfg.quality.cache_dir)
    checkpoint = read_checkpoint(path)
    saved = saved_settings(checkpoint, path)
    generator_net = build_generator(checkpoint, saved, path).to(device)

    summary = artifacts.update_summary(  # keeps the runner's `config`
        out_dir,
        status="running",
        task="interpolate",
        ckpt=str(path),
        seed=cfg.seed,
        frames=cfg.interpolation.frames,
        device=str(device),
        overrides=job.overrides,
        error=None,
    )
    # the split and the classifier of the checkpoint's run; where the files live is this machine's business
    data_cfg = OmegaConf.create(
        {key.split(".")[1]: value for key, value in saved.items() if key.startswith("data.")}
        | {"root": cfg.data.root, "download": cfg.data.download}
    )
    quality_cfg = OmegaConf.create(
        {key.split(".")[1]: value for key, value in saved.items() if key.startswith("quality.")}
        | {"cache_dir": cfg.quality.cache_dir}
    )
    classifier, classifier_info = load_or_train_classifier(load_digits(data_cfg), quality_cfg)
    info = interpolation.interpolate(
        generator_net, classifier, generator_net.latent_size, cfg.interpolation, cfg.seed, out_dir, device
    )
    summary.update(status="completed", interpolation=info, **classifier_info)
    summary = artifacts.update_summary(out_dir, **summary)
    log.info("wrote %s in %s", " and ".join(interpolation.strip_file(kind) for kind in interpolation.KINDS), out_dir)
    return summary
