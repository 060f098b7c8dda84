"""Reading a run's checkpoint back, for resuming: only into a run of the same config."""

from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf

from sweeplab.errors import ConfigError


def load_for_resume(path: Path, cfg: DictConfig, resumable_changes, device) -> dict:
    """The checkpoint at `path`, if it was written by a run of `cfg` (up to `resumable_changes`)."""
    checkpoint = torch.load(path, map_location=device, weights_only=False)
    saved = OmegaConf.create(checkpoint["config"])
    current = OmegaConf.create(OmegaConf.to_container(cfg, resolve=True))
    for key in resumable_changes:  # e.g. more steps or another device continue the same run
        OmegaConf.update(saved, key, OmegaConf.select(current, key), merge=False)
    if saved != current:
        raise ConfigError(
            f"{path} was written by a run with a different config; "
            "resume with the same settings or choose a new output dir (hydra.run.dir=...)"
        )
    return checkpoint
