"""The one validation step: every user-settable value of every task is checked here, before any
work starts (each task calls its validate_* first).

Each problem raises ConfigError with one line that names the key, what it got and what is allowed.
"""

import math
from collections.abc import Callable

from omegaconf import DictConfig

from sweeplab.errors import ConfigError

DEVICES = "auto, cpu, cuda or cuda:N"


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _power_of_two(low: int, high: int) -> Callable[[object], bool]:
    return lambda v: _is_int(v) and low <= v <= high and not v & (v - 1)


def _nullable(check: Callable[[object], bool]) -> Callable[[object], bool]:
    return lambda v: v is None or check(v)


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
    require(cfg, "seed", lambda v: _is_int(v) and 0 <= v < 2**63, "a non-negative integer below 2**63")
    require(
        cfg,
        "trainer.device",
        lambda v: isinstance(v, str) and (v in ("auto", "cpu", "cuda") or v.startswith("cuda:")),
        DEVICES,
    )


def validate_palindrome(cfg: DictConfig) -> None:
    from sweeplab.data.palindrome import ENCODINGS
    from sweeplab.models.init import INIT_SCHEMES

    if "name" in cfg.get("data", {}):  # an MNIST data option (data=mnist, data=mnist5k)
        raise ConfigError(f"data={cfg.data.name} is for task=gan; the palindrome task takes data=palindrome")
    require(cfg, "seq_len", lambda v: _is_int(v) and v >= 2, "an integer >= 2 (the palindrome length T)")
    require(cfg, "model._target_", lambda v: isinstance(v, str), "the model class (choose one with model=NAME)")
    require(cfg, *positive_int("model.hidden_size"))
    require(cfg, *one_of("model.init", INIT_SCHEMES))
    require(cfg, *one_of("data.encoding", ENCODINGS))
    require(cfg, *positive_int("data.eval_size"))
    validate_optim(cfg)
    for check in (
        positive_int("trainer.steps"),
        positive_int("trainer.batch_size"),
        positive_int("trainer.eval_every"),
        positive_int("trainer.checkpoint_every"),
        positive_number("trainer.max_norm"),
    ):
        require(cfg, *check)
    require(cfg, *one_of("trainer.cuda_graph", [True, False, "auto"]))
    require(cfg, "trainer.num_threads", lambda v: v is None or (_is_int(v) and v > 0), "a positive integer or null")
    require(cfg, "trainer.early_stop", lambda v: isinstance(v, bool), "true or false")
    require(cfg, *positive_int("trainer.patience"))


def validate_optim(cfg: DictConfig) -> None:
    """The optimizer group's ranges (its keys and types are checked against the class: sweeplab.build)."""
    require(cfg, "optim._target_", lambda v: isinstance(v, str), "the optimizer class (choose one with optim=NAME)")
    require(cfg, *positive_number("optim.lr"))
    for key in ("optim.weight_decay", "optim.momentum"):
        if key.split(".")[1] in cfg.optim:
            require(cfg, key, lambda v: _is_number(v) and 0 <= v < math.inf, "a number >= 0")


def validate_gan(cfg: DictConfig) -> None:
    from sweeplab.data.mnist import SOURCES

    require(cfg, *one_of("gan.name", ["dcgan"]))
    require(cfg, "gan.latent_size", lambda v: _is_int(v) and v > 0, "a positive integer (the latent size, 100 in DCGAN)")
    require(cfg, *positive_int("gan.width"))
    validate_optim(cfg)
    require(cfg, *one_of("data.name", SOURCES))
    require(cfg, "data.split_seed", lambda v: _is_int(v) and v >= 0, "a non-negative integer")
    require(cfg, *positive_int("data.classifier_size"))
    require(cfg, "data.reference_size", lambda v: _is_int(v) and v >= 2, "an integer >= 2")
    require(cfg, "data.train_size", _nullable(lambda v: _is_int(v) and v > 0), "null or a positive integer")
    for check in ("trainer.epochs", "trainer.batch_size", "trainer.log_every", "trainer.checkpoint_every"):
        require(cfg, *positive_int(check))
    require(cfg, "trainer.num_threads", _nullable(lambda v: _is_int(v) and v > 0), "a positive integer or null")
    require(cfg, *one_of("trainer.cuda_graph", [True, False, "auto"]))
    require(cfg, "trainer.channels_last", lambda v: isinstance(v, bool), "true or false")
    require(cfg, "trainer.samples", lambda v: _is_int(v) and v > 0, "a positive integer")
    require(cfg, "trainer.max_steps_per_epoch", _nullable(lambda v: _is_int(v) and v > 0), "null or a positive integer")
    epochs = cfg.trainer.epochs
    require(
        cfg,
        "trainer.sample_epochs",
        _nullable(lambda v: len(v) > 0 and all(_is_int(e) and 1 <= e <= epochs for e in v)),
        f"null or a list of epochs between 1 and trainer.epochs={epochs}",
    )
    require(cfg, "quality.enabled", lambda v: isinstance(v, bool), "true or false")
    require(cfg, "quality.samples", lambda v: _is_int(v) and v >= 2, "an integer >= 2")
    for check in ("quality.classifier_steps", "quality.classifier_batch_size"):
        require(cfg, *positive_int(check))
    require(cfg, "interpolation.enabled", lambda v: isinstance(v, bool), "true or false")
    validate_interpolation(cfg)


def validate_interpolation(cfg: DictConfig) -> None:
    def digit_or_null(v):
        return v is None or (_is_int(v) and 0 <= v <= 9)

    require(cfg, "interpolation.frames", lambda v: _is_int(v) and v >= 2, "an integer >= 2")
    require(cfg, "interpolation.candidates", lambda v: _is_int(v) and v >= 2, "an integer >= 2")
    require(cfg, "interpolation.from_digit", digit_or_null, "null or a digit 0-9")
    require(cfg, "interpolation.to_digit", digit_or_null, "null or a digit 0-9")
    a, b = cfg.interpolation.from_digit, cfg.interpolation.to_digit
    if a is not None and a == b:
        raise ConfigError(f"interpolation.from_digit and interpolation.to_digit are both {a}; choose two different digits")
