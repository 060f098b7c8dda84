"""Every check a job can pass before it writes anything, so that a refused run never claims a dir.

- `check_settings`: the config's values and keys, the model's and optimizer's settings (no device,
  no files): what a sweep checks for each of its jobs before it launches any;
- `check_job`: those, then what depends on the machine (the device, the memory estimate) and the
  task's input files (task=interpolate's checkpoint): what a run checks before its dir exists.

`Refused` carries such a UsageError past Hydra, which would otherwise print it with a frame around
it, or turn it into a warning when a callback raises it (see sweeplab.run_guard).
"""

from __future__ import annotations

import re

from omegaconf import DictConfig

from sweeplab.build import check_group
from sweeplab.config import BUILT_GROUPS, validate_common, validate_gan, validate_interpolation, validate_palindrome
from sweeplab.errors import ConfigError, UsageError
from sweeplab.tasks import TASKS

_VALIDATORS = {"palindrome": validate_palindrome, "gan": validate_gan, "interpolate": validate_interpolation}


class Refused(BaseException):  # noqa: N818 -- not an Exception: Hydra's handlers of those must let it pass
    """A user mistake found before anything was written: sweeplab's entrypoint prints its one line."""

    def __init__(self, error: UsageError):
        super().__init__(str(error))
        self.error = error


def check_overrides(overrides) -> None:
    """Refuse an override whose number has digit separators (`seq_len=5_0`): Hydra reads it as 50,
    which is never what a typo meant. Sweep lists are checked value by value."""
    for override in overrides:
        key, equals, value = str(override).partition("=")
        if equals and not key.startswith("hydra.") and any(_SEPARATED.fullmatch(v.strip()) for v in value.split(",")):
            raise ConfigError(
                f"{override} has a number with '_' in it, which Hydra reads as one number without it; "
                "write the number you mean without '_'"
            )


_SEPARATED = re.compile(r"[+-]?\d+(_\d+)+(\.\d*)?")


def check_settings(cfg: DictConfig) -> None:
    """Raise ConfigError for the first setting of `cfg` that is not allowed (needs no device or file)."""
    validate_common(cfg, list(TASKS))
    _VALIDATORS[str(cfg.task)](cfg)
    for group in BUILT_GROUPS:
        node = cfg.get(group)
        if isinstance(node, DictConfig) and "_target_" in node:
            check_group(group, node)


def check_job(cfg: DictConfig) -> None:
    """`check_settings`, then the device, the memory estimate and the input files (on the job's machine)."""
    check_settings(cfg)
    task = str(cfg.task)
    from sweeplab.device import resolve_device  # torch: only once the settings are known to be good

    device = resolve_device(str(cfg.trainer.device))
    if task == "interpolate":
        from sweeplab.tasks.interpolate import checkpoint_path, read_checkpoint, saved_settings

        path = checkpoint_path(cfg.get("ckpt"))
        saved_settings(read_checkpoint(path), path)
        return
    if task == "gan" and cfg.quality.enabled:  # a cache dir that cannot be written fails now, not after training
        from sweeplab.quality.classifier import check_cache_dir

        check_cache_dir(cfg.quality.cache_dir)
    if task == "palindrome":  # a model that cannot run on this device says why (model=lstm_triton on a CPU)
        from hydra.utils import get_object

        reason = getattr(get_object(str(cfg.model._target_)), "unavailable_on", lambda _: None)(device)
        if reason:
            raise ConfigError(reason)
    from sweeplab.resources import check_memory

    check_memory(cfg, device)
