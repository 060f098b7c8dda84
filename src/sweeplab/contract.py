"""The artifact contract: what a run dir holds and what its values mean (docs/ARTIFACTS.md).

Both the training side (`sweeplab`) and the analysis (`multirun_analysis`) import this module, so it
imports neither torch nor Hydra: file names, statuses, metric columns, the solved threshold, the
settings that do not change a run's result, and the one reader of summary.json.
"""

from __future__ import annotations

import json
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

# --- Metric columns (metrics.csv) ----------------------------------------------------------------
PALINDROME_METRICS = ("step", "train_loss", "train_acc", "eval_loss", "eval_acc", "elapsed_s")
GAN_METRICS = ("step", "epoch", "d_loss", "g_loss", "d_x", "d_g_z", "elapsed_s")
METRICS_BY_TASK = {"palindrome": PALINDROME_METRICS, "gan": GAN_METRICS}

# --- What "solved" means -------------------------------------------------------------------------
#: a run solves its length T when its final held-out accuracy reaches this
SOLVED_THRESHOLD = 0.99

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
