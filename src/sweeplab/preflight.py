"""Every check a job can pass before it writes anything, so that a refused run never claims a dir.

- `check_settings`: the config's values and keys, the model's and optimizer's settings (no device,
  no files): what a sweep checks for each of its jobs before it launches any;
- `check_job`: those, then what depends on the machine (the device, the memory estimate) and the
  task's input files (task=interpolate's checkpoint): what a run checks before its dir exists.

`Refused` carries such a UsageError past Hydra, which would otherwise print it with a frame around
it, or turn it into a warning when a callback raises it (see sweeplab.run_guard).
"""

from __future__ import annotations

import importlib
import re

from omegaconf import DictConfig, OmegaConf

from sweeplab import contract
from sweeplab.build import check_group
from sweeplab.config import BUILT_GROUPS, validate_common
from sweeplab.errors import ConfigError, UsageError


class Refused(BaseException):  # noqa: N818 -- not an Exception: Hydra's handlers of those must let it pass
    """A user mistake found before anything was written: sweeplab's entrypoint prints its one line."""

    def __init__(self, error: UsageError):
        super().__init__(str(error))
        self.error = error


def _function(reference: str):
    """The function a spec names as "module:function" (imported only when the task is chosen)."""
    module, _, name = reference.partition(":")
    return getattr(importlib.import_module(module), name)


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
    validate_common(cfg, list(contract.task_specs()))
    spec = contract.task_specs()[str(cfg.task)]
    if spec.validate:
        _function(spec.validate)(cfg)
    for group in BUILT_GROUPS:
        node = cfg.get(group)
        if isinstance(node, DictConfig) and "_target_" in node:
            check_group(group, node)
            check_rules(node, spec.model_args if group == "model" else {})


def check_rules(node: DictConfig, asked: dict) -> None:
    """The class's own rules on its settings and on what the task asks of it (`asked`: the spec's
    model_args, such as outputs="all"): a model's `check`, such as model.init's schemes."""
    from hydra.utils import get_object

    check = getattr(get_object(str(node._target_)), "check", None)
    if check is None:
        return
    try:
        settings = {k: v for k, v in OmegaConf.to_container(node, resolve=True).items() if not k.startswith("_")}
        check(**settings, **asked)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def check_job(cfg: DictConfig) -> None:
    """`check_settings`, then the device, the model's own rule for it, the task's input files (its spec's
    `preflight`) and the memory estimate (on the job's machine)."""
    check_settings(cfg)
    spec = contract.task_specs()[str(cfg.task)]
    from sweeplab.device import resolve_device  # torch: only once the settings are known to be good

    device = resolve_device(str(cfg.trainer.device))
    model = cfg.get("model")
    if isinstance(model, DictConfig) and "_target_" in model:  # a model that cannot run here says why
        from hydra.utils import get_object

        reason = getattr(get_object(str(model._target_)), "unavailable_on", lambda _: None)(device)
        if reason:
            raise ConfigError(reason)
    if spec.preflight:
        _function(spec.preflight)(cfg)
    from sweeplab.resources import check_memory

    check_memory(cfg, device)
