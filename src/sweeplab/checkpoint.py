"""Reading a run's checkpoint back, for resuming: only into a run of the same config."""

from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf

from sweeplab.errors import ConfigError
from sweeplab.finished import as_recorded, same_run


def load_for_resume(path: Path, cfg: DictConfig, resumable_changes, device) -> dict:
    """The checkpoint at `path`, if it was written by a run of `cfg` (up to `resumable_changes`)
    on the same kind of device (the random state of a CUDA generator cannot continue on a CPU)."""
    checkpoint = torch.load(path, map_location=device, weights_only=False)
    saved_on = checkpoint.get("device_type")
    if saved_on is not None and saved_on != torch.device(device).type:
        raise ConfigError(
            f"{path} was written on {saved_on} and its random state cannot continue on "
            f"{torch.device(device).type}; resume with trainer.device={saved_on} or choose a new output dir"
        )
    saved = OmegaConf.create(checkpoint["config"])
    current = OmegaConf.create(OmegaConf.to_container(cfg, resolve=True))
    for key in resumable_changes:  # e.g. more steps or epochs continue the same run
        OmegaConf.update(saved, key, OmegaConf.select(current, key), merge=False)
    if not same_run(as_recorded(OmegaConf.to_container(saved)), as_recorded(OmegaConf.to_container(current))):
        raise ConfigError(
            f"{path} was written by a run with a different config; "
            "resume with the same settings or choose a new output dir (hydra.run.dir=...)"
        )
    return checkpoint
