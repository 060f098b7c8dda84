"""The one validation step: every user-settable value of every task is checked here, before any
work starts (the runner calls validate_common, each task its validate_* first).

Each problem raises ConfigError with one line that names the key, what it got and what is allowed.
A key that nothing reads (a typo such as `+trainer.stepz=10`) is refused too: `check_keys` compares
the config with the keys of the task's YAML files (conf/), and sweeplab.build the model's and the
optimizer's with their classes' signatures.
"""

import difflib
import functools
import math
import re
from collections.abc import Callable
from pathlib import Path

import yaml
from omegaconf import DictConfig, ListConfig, OmegaConf

from sweeplab.contract import SOLVED_THRESHOLD, flatten
from sweeplab.errors import ConfigError
from sweeplab.paths import config_dir

DEVICES = "auto, cpu, cuda or cuda:N"
#: top-level keys that only label runs (`sweeplab -m +tag=a,b ...`: repeats of one config); training
#: never reads them, the report shows them like any swept setting
LABELS = ("tag",)
#: groups whose keys sweeplab.build checks against the class it builds (`_target_`'s signature)
BUILT_GROUPS = ("model", "optim")
#: beyond this an optimizer's step overflows float32 at once; nothing sensible lies near it
OPTIM_MAX = 1e6
SEED_LIMIT = 2**63  # torch's seeds are 64-bit signed integers
#: the smallest held-out set on which accuracy SOLVED_THRESHOLD (0.99) allows one mistake (100); a
#: smaller one makes "solved" mean "every answer right", and data.eval_size=1 an early stop on one sample
MIN_EVAL_SIZE = round(1 / (1 - SOLVED_THRESHOLD))


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
    # below 2**63: a count beyond torch's int64 (trainer.steps=99999999999999999999) is a typo, never a plan
    return key, lambda v: _is_int(v) and 0 < v < SEED_LIMIT, "a positive integer (below 2**63)"


def positive_number(key: str) -> tuple[str, Callable, str]:
    return key, lambda v: _is_number(v) and 0 < v < math.inf, "a positive number"


def one_of(key: str, choices) -> tuple[str, Callable, str]:
    return key, lambda v: v in choices, "one of " + ", ".join(map(str, choices))


def seed(key: str) -> tuple[str, Callable, str]:
    return key, lambda v: _is_int(v) and 0 <= v < SEED_LIMIT, "a non-negative integer below 2**63"


def validate_common(cfg: DictConfig, tasks) -> None:
    require(cfg, *one_of("task", tasks))
    check_data_option(cfg)
    check_keys(cfg)
    check_finite(cfg)
    require(cfg, *seed("seed"))
    require(
        cfg,
        "trainer.device",
        lambda v: isinstance(v, str) and (v in ("auto", "cpu", "cuda") or re.fullmatch(r"cuda:\d+", v) is not None),
        DEVICES,
    )


def check_data_option(cfg: DictConfig) -> None:
    """The data option belongs to the task (before its keys are compared: the option decides them)."""
    data = cfg.get("data")
    if not isinstance(data, DictConfig):
        return
    if cfg.task == "palindrome" and "name" in data:  # an MNIST data option (data=mnist, data=mnist5k)
        raise ConfigError(f"data={data.name} is for task=gan; the palindrome task takes data=palindrome")
    if cfg.task == "gan" and "encoding" in data:
        raise ConfigError("data=palindrome is for task=palindrome; the GAN takes data=mnist5k (offline) or data=mnist")


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
    require(
        cfg,
        "data.eval_size",
        lambda v: _is_int(v) and MIN_EVAL_SIZE <= v < SEED_LIMIT,
        f"an integer >= {MIN_EVAL_SIZE} (a held-out set on which the solved accuracy {SOLVED_THRESHOLD} "
        "allows a mistake, so that it means more than every answer right)",
    )
    require(cfg, *seed("data.eval_seed"))
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
    require(cfg, "optim.lr", lambda v: _is_number(v) and 0 < v <= OPTIM_MAX, f"a positive number up to {OPTIM_MAX:g}")
    if "weight_decay" in cfg.optim:
        require(
            cfg,
            "optim.weight_decay",
            lambda v: _is_number(v) and 0 <= v <= OPTIM_MAX,
            f"a number from 0 to {OPTIM_MAX:g}",
        )
    if "betas" in cfg.optim:
        require(
            cfg,
            "optim.betas",
            lambda v: isinstance(v, ListConfig) and len(v) == 2 and all(_is_number(b) and 0 <= b < 1 for b in v),
            "two numbers from 0 to below 1, such as [0.9, 0.999]",
        )
    if "momentum" in cfg.optim:
        require(cfg, "optim.momentum", lambda v: _is_number(v) and 0 <= v <= 1, "a number from 0 to 1")


def validate_gan(cfg: DictConfig) -> None:
    from sweeplab.data.mnist import SOURCES

    require(cfg, *one_of("gan.name", ["dcgan"]))
    require(
        cfg, "gan.latent_size", lambda v: _is_int(v) and v > 0, "a positive integer (the latent size, 100 in DCGAN)"
    )
    require(cfg, *positive_int("gan.width"))
    validate_optim(cfg)
    require(cfg, *one_of("data.name", SOURCES))
    require(cfg, *seed("data.split_seed"))
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
        _nullable(
            lambda v: isinstance(v, ListConfig) and len(v) > 0 and all(_is_int(e) and 1 <= e <= epochs for e in v)
        ),
        f"null or a list of epochs between 1 and trainer.epochs={epochs}, such as [{epochs}]",
    )
    require(cfg, "quality.enabled", lambda v: isinstance(v, bool), "true or false")
    require(cfg, "quality.samples", lambda v: _is_int(v) and v >= 2, "an integer >= 2")
    for check in ("quality.classifier_steps", "quality.classifier_batch_size"):
        require(cfg, *positive_int(check))
    require(cfg, *seed("quality.classifier_seed"))
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
        raise ConfigError(
            f"interpolation.from_digit and interpolation.to_digit are both {a}; choose two different digits"
        )


def check_finite(cfg: DictConfig) -> None:
    """A NaN or infinite setting has no meaning anywhere (`model.forget_bias=nan` would only diverge)."""
    for key, value in flatten(OmegaConf.to_container(cfg, resolve=True)).items():
        values = value if isinstance(value, list) else [value]
        if any(isinstance(v, float) and not math.isfinite(v) for v in values):
            raise ConfigError(f"{key}={value} is not allowed; a setting must be a finite number")


# --- Keys that nothing reads ----------------------------------------------------------------------


def check_keys(cfg: DictConfig) -> None:
    """Refuse a key that no part of the program reads (`+trainer.stepz=10`, `+foo=bar`), naming the
    keys its group has. What is read: the keys of conf/config.yaml and the task's file, and of the
    group options it selects; the model's and optimizer's keys are checked by sweeplab.build."""
    task = str(cfg.task)
    _compare(OmegaConf.to_container(cfg, resolve=False), expected_keys(task, cfg), "", task)


def expected_keys(task: str, cfg: DictConfig) -> dict:
    """{key: None (a value) | dict (a node's keys) | BUILT (checked by sweeplab.build)} for `task`."""
    tree: dict = {}
    for name in ("config.yaml", f"task/{task}.yaml"):
        node = _load(config_dir() / name)
        for group, option in _selected_groups(node):
            # the option in effect: the one the config names (data=mnist), else the file's default
            name_in_cfg = OmegaConf.select(cfg, f"{group}.name", default=None)
            if name_in_cfg is not None and (config_dir() / group / f"{name_in_cfg}.yaml").is_file():
                option = str(name_in_cfg)
            tree[group] = BUILT if group in BUILT_GROUPS else _merge(tree.get(group), _option_keys(group, option))
        tree = _merge(tree, _key_tree({k: v for k, v in node.items() if k not in ("defaults", "hydra")}))
    tree.update(dict.fromkeys(LABELS))
    for group in BUILT_GROUPS:
        if group in tree:
            tree[group] = BUILT
    return tree


BUILT = "built"  # a group whose keys are its class's arguments (sweeplab.build.check_settings)


def unknown_key(key: str, siblings, task: str | None = None) -> str:
    """The one line for a key nothing reads: its group's keys, and the closest one."""
    group, _, leaf = key.rpartition(".")
    known = [str(k) for k in siblings if not str(k).startswith("_") and str(k) not in ("hydra", *LABELS)]
    if not group:  # the top level's order is the composition's: sorted reads the same every time
        known = sorted(known)
    close = difflib.get_close_matches(leaf, known, n=1)
    hint = f" (did you mean {group + '.' if group else ''}{close[0]}?)" if close else ""
    where = f" of task={task}" if task else ""
    keys = f"the settings under {group} are" if group else "the top-level settings are"
    labels = f" (and {', '.join(f'+{k}=...' for k in LABELS)} to label runs)" if not group else ""
    return f"{key} is not a setting{where}, so nothing would read it{hint}; {keys} {', '.join(known)}{labels}"


def _compare(values: dict, expected: dict, prefix: str, task: str) -> None:
    for key, value in values.items():
        if key == "hydra" and not prefix:  # Hydra's own node (compose(..., return_hydra_config=True))
            continue
        if key not in expected:
            raise ConfigError(unknown_key(f"{prefix}{key}", expected, task))
        if isinstance(expected[key], dict) and isinstance(value, dict):
            _compare(value, expected[key], f"{prefix}{key}.", task)


@functools.cache
def _load(path: Path) -> dict:
    """A conf/ file as plain data (its keys are all we need: libyaml's loader when present, once per process)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(path.read_text(), Loader=loader) or {}


def _selected_groups(node: dict) -> list[tuple[str, str]]:
    """(group, option) of a file's defaults list (`- /model: lstm`, `- paths: default`); the task is its own file."""
    selected = []
    for entry in node.get("defaults", []):
        if isinstance(entry, dict):
            for group, option in entry.items():
                group = str(group).lstrip("/")
                if option is not None and not group.startswith(("override", "hydra", "experiment", "task")):
                    selected.append((group, str(option)))
    return selected


def _option_keys(group: str, option: str) -> dict:
    """The key tree of conf/GROUP/OPTION.yaml, with the options it extends (`defaults: [lstm]`)."""
    node = _load(config_dir() / group / f"{option}.yaml")
    tree: dict = {}
    for entry in node.get("defaults", []):
        if isinstance(entry, str) and entry != "_self_":
            tree = _merge(tree, _option_keys(group, entry))
    return _merge(tree, _key_tree({k: v for k, v in node.items() if k != "defaults"}))


def _key_tree(node) -> dict:
    return {str(k): (_key_tree(v) if isinstance(v, dict) else None) for k, v in node.items()}


def _merge(a, b):
    if not isinstance(a, dict) or not isinstance(b, dict):
        return b if b is not None else a
    merged = dict(a)
    for key, value in b.items():
        merged[key] = _merge(merged.get(key), value)
    return merged
