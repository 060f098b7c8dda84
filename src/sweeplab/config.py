"""The generic validation: the checks every task shares, and the helpers a task's own validate.py
uses (the runner calls validate_common, then each task its own validation first, before any work).

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


def is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _power_of_two(low: int, high: int) -> Callable[[object], bool]:
    return lambda v: is_int(v) and low <= v <= high and not v & (v - 1)


def nullable(check: Callable[[object], bool]) -> Callable[[object], bool]:
    return lambda v: v is None or check(v)


def is_number(value) -> bool:
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
    return key, lambda v: is_int(v) and 0 < v < SEED_LIMIT, "a positive integer (below 2**63)"


def positive_number(key: str) -> tuple[str, Callable, str]:
    return key, lambda v: is_number(v) and 0 < v < math.inf, "a positive number"


def one_of(key: str, choices) -> tuple[str, Callable, str]:
    return key, lambda v: v in choices, "one of " + ", ".join(map(str, choices))


def seed(key: str) -> tuple[str, Callable, str]:
    return key, lambda v: is_int(v) and 0 <= v < SEED_LIMIT, "a non-negative integer below 2**63"


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
    """The data option belongs to the task (before its keys are compared: the option decides them).

    A data option is recognised by its keys (conf/data/*.yaml); one that another task's spec lists
    names that task."""
    from sweeplab.contract import task_spec, task_specs

    data, spec = cfg.get("data"), task_spec(cfg.get("task"))
    if not isinstance(data, DictConfig) or spec is None or not spec.data:
        return
    option = data_option(cfg)
    if option is None or option in spec.data:
        return
    others = [s.name for s in task_specs().values() if option in s.data]
    if others:
        takes = " or ".join(f"data={d}" for d in spec.data)
        raise ConfigError(f"data={option} is for task={others[0]}; {spec.summary_title or spec.name} takes {takes}")


def data_option(cfg: DictConfig) -> str | None:
    """Which conf/data option `cfg.data` is: the one its `name` names, else the one with its keys."""
    name = cfg.data.get("name")
    if name is not None and (config_dir() / "data" / f"{name}.yaml").is_file():
        return str(name)
    keys = set(cfg.data.keys())
    matches = [
        p.stem for p in sorted((config_dir() / "data").glob("*.yaml")) if set(_option_keys("data", p.stem)) == keys
    ]
    return matches[0] if len(matches) == 1 else None


def validate_step_trainer(cfg: DictConfig) -> None:
    """The settings of a task trained in steps on fresh batches (sweeplab.loop), evaluated every N steps."""
    for check in (
        positive_int("trainer.steps"),
        positive_int("trainer.batch_size"),
        positive_int("trainer.eval_every"),
        positive_int("trainer.checkpoint_every"),
        positive_number("trainer.max_norm"),
    ):
        require(cfg, *check)
    require(cfg, *one_of("trainer.cuda_graph", [True, False, "auto"]))
    require(cfg, "trainer.num_threads", lambda v: v is None or (is_int(v) and v > 0), "a positive integer or null")
    require(cfg, "trainer.early_stop", lambda v: isinstance(v, bool), "true or false")
    require(cfg, *positive_int("trainer.patience"))


def validate_held_out_size(cfg: DictConfig, answers_per_sample: int = 1) -> None:
    """data.eval_size: a held-out set on which the solved accuracy (SOLVED_THRESHOLD) allows a mistake:
    at least MIN_EVAL_SIZE answers (`answers_per_sample` per sequence: the copy task's symbols)."""
    least = -(-MIN_EVAL_SIZE // answers_per_sample)
    require(
        cfg,
        "data.eval_size",
        lambda v: is_int(v) and least <= v < SEED_LIMIT,
        f"an integer >= {least} (a held-out set on which the solved accuracy {SOLVED_THRESHOLD} "
        "allows a mistake, so that it means more than every answer right)",
    )


def validate_recurrent_task(cfg: DictConfig, difficulty: str, meaning: str, minimum: int = 1) -> None:
    """What every sequence task on a recurrent model checks: its length axis, the model, the optimizer,
    the trainer (the model's own rules, such as model.init, are its constructor's)."""
    require(cfg, difficulty, lambda v: is_int(v) and v >= minimum, f"an integer >= {minimum} ({meaning})")
    require(cfg, "model._target_", lambda v: isinstance(v, str), "the model class (choose one with model=NAME)")
    require(cfg, *positive_int("model.hidden_size"))
    validate_optim(cfg)
    validate_step_trainer(cfg)


def validate_optim(cfg: DictConfig) -> None:
    """The optimizer group's ranges (its keys and types are checked against the class: sweeplab.build)."""
    require(cfg, "optim._target_", lambda v: isinstance(v, str), "the optimizer class (choose one with optim=NAME)")
    require(cfg, "optim.lr", lambda v: is_number(v) and 0 < v <= OPTIM_MAX, f"a positive number up to {OPTIM_MAX:g}")
    if "weight_decay" in cfg.optim:
        require(
            cfg,
            "optim.weight_decay",
            lambda v: is_number(v) and 0 <= v <= OPTIM_MAX,
            f"a number from 0 to {OPTIM_MAX:g}",
        )
    if "betas" in cfg.optim:
        require(
            cfg,
            "optim.betas",
            lambda v: isinstance(v, ListConfig) and len(v) == 2 and all(is_number(b) and 0 <= b < 1 for b in v),
            "two numbers from 0 to below 1, such as [0.9, 0.999]",
        )
    if "momentum" in cfg.optim:
        require(cfg, "optim.momentum", lambda v: is_number(v) and 0 <= v <= 1, "a number from 0 to 1")


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
