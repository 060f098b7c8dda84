"""A run's checkpoint.pt: written atomically, read back only as tensors and plain containers.

Loading uses `torch.load(weights_only=True)`: a checkpoint is data, never code, so a run or sweep
dir shared by someone else cannot run anything when it is resumed. Everything a checkpoint holds
(state_dicts, RNG states as byte tensors, metrics rows, the config as a dict) is of those types.
"""

from __future__ import annotations

import logging
import pickle
import time
from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf

from sweeplab import artifacts
from sweeplab.contract import as_recorded, same_run
from sweeplab.errors import ConfigError, UsageError

log = logging.getLogger(__name__)


class Damaged(UsageError):
    """A checkpoint file that cannot be read (truncated, empty, not a torch file): no code in it ran."""


def read(path: Path, map_location="cpu", name: str | None = None) -> dict:
    """The checkpoint at `path` as data (`name` labels it in errors, e.g. "ckpt=..."): a code payload
    is a UsageError, a damaged file is `Damaged`, both in one line."""
    name = name or str(path)
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except PermissionError:
        raise UsageError(f"{name}: permission denied; make it readable for this user or copy it") from None
    except pickle.UnpicklingError as exc:
        if "global" in str(exc).lower():  # a reference to a Python callable: what a code payload needs
            raise UsageError(
                f"{name} holds Python objects beyond tensors and plain containers; refused, since loading "
                "it could run code hidden in it (use a checkpoint written by sweeplab)"
            ) from None
        raise Damaged(f"{name} is damaged or not a torch checkpoint (a malformed pickle)") from None
    except Exception as exc:  # noqa: BLE001 -- torch raises many kinds for a truncated or empty file
        raise Damaged(f"{name} is damaged or not a torch checkpoint ({_first_line(exc)[:120]})") from None
    if not isinstance(checkpoint, dict):
        raise Damaged(f"{name} holds a {type(checkpoint).__name__}, not a sweeplab checkpoint")
    return checkpoint


def save(path: Path, state: dict, cfg: DictConfig, device: torch.device) -> None:
    """Write `state` plus what every resume checks: the config and the device type."""
    state = {**state, "device_type": device.type, "config": OmegaConf.to_container(cfg, resolve=True)}
    artifacts.save_torch(path, state)


def load_for_resume(path: Path, cfg: DictConfig, device) -> dict | None:
    """The checkpoint at `path`, if it was written by a run of `cfg` (up to RESUMABLE_CHANGES) on the
    same kind of device (the random state of a CUDA generator cannot continue on a CPU).

    An unreadable file (truncated, empty: a disk that filled, a copy cut short) is moved aside and
    None returned, so that the run starts over instead of failing on every rerun.
    """
    try:
        checkpoint = read(path, map_location=device)
    except Damaged as exc:  # kept aside, never deleted: a person may want to look at it
        aside = path.with_name(f"{path.name}.unreadable-{time.strftime('%Y%m%d-%H%M%S')}")
        path.rename(aside)
        log.warning("%s; moved to %s: the run starts over", exc, aside.name)
        return None
    saved_on = checkpoint.get("device_type")
    if saved_on is not None and saved_on != torch.device(device).type:
        raise ConfigError(
            f"{path} was written on {saved_on} and its random state cannot continue on "
            f"{torch.device(device).type}; resume with trainer.device={saved_on} or choose a new output dir"
        )
    if not isinstance(checkpoint.get("config"), dict):
        raise UsageError(f"{path} records no config; it is not a sweeplab checkpoint: move it away to start over")
    # The saved config is only compared with the run's, never used to build anything.
    if not same_run(checkpoint["config"], as_recorded(OmegaConf.to_container(cfg, resolve=True)), resumable=True):
        raise ConfigError(
            f"{path} was written by a run with a different config; "
            "resume with the same settings or choose a new output dir (hydra.run.dir=...)"
        )
    return checkpoint


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
