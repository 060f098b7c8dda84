"""The artifact contract: what a run dir holds and what its values mean (docs/ARTIFACTS.md).

Both the training side (`sweeplab`) and the analysis (`multirun_analysis`) import this module, so it
imports neither torch nor Hydra: file names, statuses, summary.json keys, the task specs (metric
columns, results, objective, solved rule, difficulty axis) and their registry, the settings that do
not change a run's result, and the one reader of summary.json.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# --- Files of a run dir --------------------------------------------------------------------------
SUMMARY_FILE = "summary.json"  # status, settings, headline numbers, provenance
METRICS_FILE = "metrics.csv"  # one row per evaluation (palindrome) or logged step (GAN)
CHECKPOINT_FILE = "checkpoint.pt"  # everything a resume needs (weights_only-loadable)
CURVES_FILE = "curves.png"
ERROR_FILE = "error.txt"  # the traceback of a failed run
LOCK_FILE = ".lock"  # held by the one process that writes into the run dir
HYDRA_CONFIG = ".hydra/config.yaml"  # Hydra's record of the job's config (unresolved)

# --- Files of a sweep dir ------------------------------------------------------------------------
SWEEP_CONFIG = "multirun.yaml"
SEARCH_FILE = "search.csv"  # the adaptive sweeper's record of its probes


def samples_file(epoch: int) -> str:
    """A GAN run's sample grid after `epoch`."""
    return f"samples_epoch_{epoch:03d}.png"


# --- Statuses (summary.json "status") ------------------------------------------------------------
RUNNING = "running"  # started and not finished: killed, preempted, or still going
COMPLETED = "completed"
DIVERGED = "diverged"  # stopped at a non-finite loss
FAILED = "failed"  # raised; "error" holds the one line, error.txt the traceback
FINISHED = (COMPLETED, DIVERGED)  # kept as they are, never run again
STATUSES = (RUNNING, COMPLETED, DIVERGED, FAILED)

# --- summary.json keys --------------------------------------------------------------------------
#: written by the runner before the task starts (so that a run that fails early is still described)
STATUS, TASK, OVERRIDES, ERROR, CONFIG = "status", "task", "overrides", "error", "config"
#: written by the training loop for every task (sweeplab.loop.progress_numbers, record)
STEPS_DONE, EARLY_STOPPED_AT, WALL_TIME_S, STEPS_PER_S = "steps_done", "early_stopped_at", "wall_time_s", "steps_per_s"
DEVICE, PROVENANCE = "device", "provenance"
#: numbers every training task's summary has, beside its spec's `results`
COMMON_RESULTS: dict[str, type] = {STEPS_DONE: int, EARLY_STOPPED_AT: int, WALL_TIME_S: float, STEPS_PER_S: float}

# --- What "solved" means -------------------------------------------------------------------------
#: a palindrome run solves its length T when its final held-out accuracy reaches this
SOLVED_THRESHOLD = 0.99


# --- Tasks: what each one is, torch-free ----------------------------------------------------------
@dataclass(frozen=True)
class Solved:
    """A run solves its task when the metric `metric` (a metrics.csv column; the summary records its
    final value as `final_<metric>`) reaches `threshold`: at least it, or (lower_is_better) at most."""

    metric: str
    threshold: float
    lower_is_better: bool = False
    what: str = ""  # the metric in words, for the report ("held-out accuracy")
    note: str = ""  # how to read its final values, for the report

    @property
    def summary_key(self) -> str:
        return f"final_{self.metric}"

    def met(self, value: Any, threshold: float | None = None) -> bool:
        """Whether `value` (a row's metric or the final one) counts as solved (`threshold` overrides)."""
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value != value:
            return False
        limit = self.threshold if threshold is None else threshold
        return value <= limit if self.lower_is_better else value >= limit


@dataclass(frozen=True)
class TaskSpec:
    """Everything the code outside a task needs to know about it, without importing it (nor torch).

    A task folder `sweeplab/tasks/NAME/` declares its spec(s) in `spec.py` (`SPEC` or `SPECS`); the
    registry below finds them, so adding a task edits no shared module (docs/EXTENDING.md).
    """

    name: str  # `task=NAME`
    run: str  # "module:function" that runs one job: run(cfg, job) -> summary dict
    metric_columns: tuple[str, ...] = ()  # metrics.csv's header (empty: the task writes none)
    results: dict[str, type] = field(default_factory=dict)  # the summary's own numbers and their types
    settings: dict[str, str] = field(default_factory=dict)  # summary key -> the config key it repeats
    objective: str | None = None  # the summary key an optimising sweeper (Optuna, Ax) reads
    maximize: bool = True  # the objective's direction
    solved: Solved | None = None  # the solved rule (for early stopping, success rates, T50)
    difficulty: str | None = None  # the config key that makes it harder (a memory task's seq_len)
    difficulty_label: str = "length T"  # the axis in words, for the report's figures
    data: tuple[str, ...] = ()  # the conf/data options it takes (the first is its default)
    memory: str | None = None  # "module:function": parts(cfg, on_gpu) -> its sweeplab.resources.Part list
    validate: str | None = None  # "module:function": validate(cfg), its settings' one-line rules
    preflight: str | None = None  # "module:function": check(cfg), what it needs besides settings (input files)
    model_args: dict[str, Any] = field(default_factory=dict)  # what it asks of its model: {"outputs": "all"}
    summary_title: str = ""  # how the report names it ("the palindrome task")
    shown: tuple[str, ...] | None = None  # the results the report's "All runs" table shows (None: all)

    @property
    def memory_task(self) -> bool:
        """Whether the report's memory-length section (success rates, T50) applies."""
        return self.solved is not None and self.difficulty is not None


def sequence_settings(**extra: str) -> dict[str, str]:
    """A memory task's `settings` on a recurrent model (what sweeplab.tasks.sequence records), with its
    own `extra` ones after seq_len: sequence_settings(encoding="data.encoding")."""
    return {
        "model": "model.name",
        "hidden_size": "model.hidden_size",
        "forget_bias": "model.forget_bias",  # the LSTMs' only: recorded where the model has it
        "seq_len": "seq_len",
        **extra,
        "seed": "seed",
        "optimizer": "optim.name",
        "lr": "optim.lr",
        "batch_size": "trainer.batch_size",
        "steps": "trainer.steps",
    }


def _discover() -> dict[str, TaskSpec]:
    import importlib
    import pkgutil

    import sweeplab.tasks

    specs: dict[str, TaskSpec] = {}
    for folder in sorted(m.name for m in pkgutil.iter_modules(sweeplab.tasks.__path__) if m.ispkg):
        try:
            module = importlib.import_module(f"sweeplab.tasks.{folder}.spec")
        except ModuleNotFoundError as exc:
            if exc.name != f"sweeplab.tasks.{folder}.spec":
                raise
            continue
        for spec in getattr(module, "SPECS", None) or [module.SPEC]:
            specs[spec.name] = spec
    return specs


_SPECS: dict[str, TaskSpec] | None = None


def task_specs() -> dict[str, TaskSpec]:
    """Every task, by name: the one registry (found from the task folders, once per process)."""
    global _SPECS
    if _SPECS is None:
        _SPECS = _discover()
    return _SPECS


def task_spec(name: Any) -> TaskSpec | None:
    return task_specs().get(str(name)) if name is not None else None


def result_columns() -> dict[str, type]:
    """Every summary number of every task (the report's result columns), common ones first."""
    columns = dict(COMMON_RESULTS)
    for spec in task_specs().values():
        columns.update(spec.results)
    return columns


# --- Settings that do not change a run's result --------------------------------------------------
#: how a run executes, not what it computes: a run under other values is the same run, so it
#: resumes and is kept, and the report never splits a comparison on them. A key ending in "."
#: is a prefix (every key below that node). A run recorded before one of them existed still matches.
EXECUTION_ONLY = (
    "paths.",  # where caches and data live (another node, a SLURM requeue)
    "logger.",  # which experiment tracker also records the run (sweeplab.trackers)
    "data.root",
    "quality.cache_dir",
    "trainer.num_threads",
    "trainer.cuda_graph",
    "trainer.channels_last",
    "trainer.progress",
    "model.block_b",  # model=lstm_triton's launch settings
    "model.num_warps",
)

#: how often a run is observed or saved: they change its files' cadence, not its result, so the
#: report groups across them (a resume under another value would mix cadences in one metrics.csv)
OBSERVATION_ONLY = (
    "trainer.eval_every",
    "trainer.checkpoint_every",
    "trainer.log_every",
    "trainer.sample_epochs",
    "trainer.samples",
)


#: settings a resumed run may change: more steps or epochs continue the same run from its checkpoint
RESUMABLE_CHANGES = ("trainer.steps", "trainer.epochs", "trainer.sample_epochs")


def is_execution_only(key: str) -> bool:
    return any(key == k or (k.endswith(".") and key.startswith(k)) for k in EXECUTION_ONLY)


def groups_results(key: str) -> bool:
    """Whether a config key can separate two runs' results (the report compares across the others)."""
    return not is_execution_only(key) and key not in OBSERVATION_ONLY


def flatten(config: Any, prefix: str = "") -> dict[str, Any]:
    """{"trainer": {"steps": 5}} -> {"trainer.steps": 5}; lists stay values."""
    if not isinstance(config, dict):
        return {prefix.rstrip("."): config} if prefix else {}
    flat: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, dict) and value:
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def as_recorded(config: Any) -> Any:
    """A resolved config as summary.json records it (plain JSON), so that two compare equal."""
    return json.loads(json.dumps(config, default=str))


def identity(config: dict) -> dict[str, Any]:
    """The flat settings that decide what a run computes (without the execution-only ones)."""
    return {k: v for k, v in flatten(as_recorded(config)).items() if not is_execution_only(k)}


def same_run(recorded: dict, config: dict, resumable: bool = False) -> bool:
    """Whether two resolved configs describe the same run, up to EXECUTION_ONLY (and, with
    `resumable`, up to RESUMABLE_CHANGES: a checkpoint that the config continues)."""
    a, b = identity(recorded), identity(config)
    if resumable:
        for key in RESUMABLE_CHANGES:
            a.pop(key, None)
            b.pop(key, None)
    return a == b


def read_summary(run_dir: Path) -> dict | None:
    """A run's summary.json, or None when it is missing, unreadable or not a JSON object."""
    try:
        summary = json.loads((Path(run_dir) / SUMMARY_FILE).read_text())
    except (OSError, ValueError):
        return None
    return summary if isinstance(summary, dict) else None
