"""The one validation step: every user-settable value is checked here, before any work starts.

Each problem raises ConfigError with one line that names the key, what it got and what is allowed.
"""

import math
from collections.abc import Callable

from omegaconf import DictConfig

from sweeplab.errors import ConfigError

DEVICES = "auto, cpu, cuda or cuda:N"


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def require(cfg: DictConfig, key: str, ok: Callable[[object], bool], allowed: str) -> None:
    value = cfg
    for part in key.split("."):
        if not isinstance(value, DictConfig) or part not in value:
            raise ConfigError(f"{key} is missing; it must be {allowed}")
        value = value[part]
    if not ok(value):
        raise ConfigError(f"{key}={value!r} is not allowed; it must be {allowed}")


def positive_int(key: str) -> tuple[str, Callable, str]:
    return key, lambda v: _is_int(v) and v > 0, "a positive integer"


def positive_number(key: str) -> tuple[str, Callable, str]:
    return key, lambda v: _is_number(v) and 0 < v < math.inf, "a positive number"


def one_of(key: str, choices) -> tuple[str, Callable, str]:
    return key, lambda v: v in choices, "one of " + ", ".join(map(str, choices))


def validate_common(cfg: DictConfig, tasks) -> None:
    require(cfg, *one_of("task", tasks))
    require(cfg, "seed", lambda v: _is_int(v) and v >= 0, "a non-negative integer")
    require(
        cfg,
        "trainer.device",
        lambda v: isinstance(v, str) and (v in ("auto", "cpu", "cuda") or v.startswith("cuda:")),
        DEVICES,
    )


def validate_palindrome(cfg: DictConfig) -> None:
    from sweeplab.data.palindrome import ENCODINGS
    from sweeplab.models import RECURRENT_MODELS
    from sweeplab.models.init import INIT_SCHEMES
    from sweeplab.optim import OPTIMIZERS

    require(cfg, "seq_len", lambda v: _is_int(v) and v >= 2, "an integer >= 2 (the palindrome length T)")
    require(cfg, *one_of("model.name", list(RECURRENT_MODELS)))
    require(cfg, *positive_int("model.hidden_size"))
    require(cfg, *one_of("model.init", INIT_SCHEMES))
    require(cfg, *one_of("data.encoding", ENCODINGS))
    require(cfg, *positive_int("data.eval_size"))
    require(cfg, *one_of("optim.name", list(OPTIMIZERS)))
    for check in (
        positive_number("optim.lr"),
        positive_int("trainer.steps"),
        positive_int("trainer.batch_size"),
        positive_int("trainer.eval_every"),
        positive_int("trainer.checkpoint_every"),
        positive_number("trainer.max_norm"),
    ):
        require(cfg, *check)
    require(cfg, *one_of("trainer.cuda_graph", [True, False, "auto"]))
    require(cfg, "trainer.num_threads", lambda v: v is None or (_is_int(v) and v > 0), "a positive integer or null")
