"""Objects from their config groups: `hydra.utils.instantiate` on the group's `_target_`.

A group's `name` names the choice for people (summaries, reports) and is not an argument. A key the
target does not take, or a value of the wrong type, is a one-line ConfigError naming the group's
settings, instead of a TypeError deep inside a constructor.
"""

from __future__ import annotations

import inspect
from typing import Any

from hydra.errors import InstantiationException
from hydra.utils import get_object, instantiate
from omegaconf import DictConfig, OmegaConf

from sweeplab.errors import ConfigError

_CHECKED_TYPES = {int: (int,), float: (int, float), str: (str,), bool: (bool,)}


def build(group: str, node: DictConfig, *args: Any, **kwargs: Any) -> Any:
    """Instantiate config group `group` (e.g. "model") with the extra arguments (data sizes, params)."""
    check_group(group, node)
    spec = OmegaConf.masked_copy(node, [k for k in node if k != "name"])
    try:
        if node.get("_partial_", False):  # e.g. an optimizer: the config, then the parameters
            return instantiate(spec)(*args, **kwargs)
        return instantiate(spec, *args, **kwargs)
    except InstantiationException as exc:
        if isinstance(exc.__cause__, ValueError):  # the constructor's own one-line rule
            raise ConfigError(str(exc.__cause__)) from None
        raise
    except ValueError as exc:  # raised by a partial's constructor (torch.optim: "Invalid beta ...")
        raise ConfigError(f"{group}={node.get('name', node._target_)}: {exc}") from None


def check_group(group: str, node: DictConfig) -> None:
    """Refuse a setting of config group `group` that its class does not take, before building it."""
    settings = {
        k: v
        for k, v in OmegaConf.to_container(node, resolve=True).items()
        if k not in ("name", "_target_", "_partial_")
    }
    check_settings(group, node.get("name", node._target_), get_object(node._target_), settings)


def check_settings(group: str, name: str, target: Any, settings: dict, skip: int = 0) -> None:
    """Refuse a setting `target` does not take, or one whose type differs from its annotation."""
    parameters = inspect.signature(target).parameters
    accepted = [p for p in parameters if p not in ("self", "params", "input_size", "num_classes")]
    takes_any = any(p.kind is p.VAR_KEYWORD for p in parameters.values())
    for key, value in settings.items():
        if key not in parameters and not takes_any:
            raise ConfigError(f"{group}={name} has no setting {key!r}; its settings are {', '.join(accepted)}")
        annotation = parameters[key].annotation if key in parameters else None
        allowed = _CHECKED_TYPES.get(annotation if not isinstance(annotation, str) else _named(annotation))
        if allowed and (not isinstance(value, allowed) or (bool not in allowed and isinstance(value, bool))):
            raise ConfigError(f"{group}.{key}={value!r} is not allowed; it must be of type {_named_type(allowed)}")


def _named(annotation: str):
    return {"int": int, "float": float, "str": str, "bool": bool}.get(annotation)


def _named_type(allowed: tuple) -> str:
    return {(int,): "int", (int, float): "float (a number)", (str,): "str", (bool,): "bool (true or false)"}[allowed]
