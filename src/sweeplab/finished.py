"""What a run dir already holds: shared by the runner and the resumable sweeper (no torch import).

A dir whose summary.json records another config is never touched: not rerun, not overwritten.
A finished run (`completed`, `diverged`) of the same config is kept as it is; any other state
(`running`: killed or preempted; `failed`; no summary) is run again and continues from its checkpoint.
"""

import copy
import json
import os
from pathlib import Path
from typing import Any

#: summary.json statuses of a finished run: it is kept as it is, never run again
FINISHED = ("completed", "diverged")


#: settings of how a run executes, not of what it computes: a run is the same run under other
#: values, so it resumes or is kept; a run recorded before one of them existed still matches
EXECUTION_ONLY = (
    "trainer.num_threads",
    "trainer.cuda_graph",
    "trainer.channels_last",
    "model.block_b",  # model=lstm_triton's launch settings
    "model.num_warps",
)


def as_recorded(config: Any) -> Any:
    """A resolved config as summary.json records it (JSON), so that the two compare equal."""
    return json.loads(json.dumps(config, default=str))


def same_run(recorded: dict, config: dict) -> bool:
    """Whether two resolved configs (as recorded) describe the same run, up to EXECUTION_ONLY."""
    return _without_execution_only(recorded) == _without_execution_only(config)


def _without_execution_only(config: dict) -> dict:
    config = json.loads(json.dumps(config))  # a deep copy
    for key in EXECUTION_ONLY:
        *parents, leaf = key.split(".")
        node = config
        for parent in parents:
            node = node.get(parent) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(leaf, None)
    return config


def read_summary(run_dir: Path) -> dict | None:
    """The run's summary.json, or None when it is missing or unreadable."""
    try:
        summary = json.loads((Path(run_dir) / "summary.json").read_text())
    except (OSError, ValueError):
        return None
    return summary if isinstance(summary, dict) else None


def refusal(run_dir: Path) -> str:
    """The one-line error for a dir that holds a run of another config."""
    return (
        f"{run_dir} already holds a run of another config; "
        "rerun the same command or choose a new output dir (hydra.run.dir / hydra.sweep.dir)"
    )


def job_state(run_dir: Path, config: Any) -> tuple[str, str]:
    """(state, action) for running `config` (resolved) in `run_dir`: action is run, skip or refuse."""
    summary = read_summary(run_dir)
    if summary is None:
        return ("incomplete" if Path(run_dir).exists() else "new"), "run"
    recorded = summary.get("config")
    if recorded is not None and not same_run(recorded, as_recorded(config)):
        return "conflict", "refuse"
    status = str(summary.get("status"))
    return status, ("skip" if status in FINISHED else "run")


def resolved_task_config(cfg: Any, output_dir: Path) -> Any:
    """A job's config (`cfg` without its `hydra` node), resolved as the job will see it in
    `output_dir`, as summary.json records it: ${hydra:...} interpolations read `cfg`'s Hydra node,
    with `hydra.runtime.output_dir` set the way Hydra's run_job sets it."""
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf, open_dict, read_write

    cfg = copy.deepcopy(cfg)
    with read_write(cfg.hydra), open_dict(cfg.hydra):  # Hydra marks its own node read-only
        cfg.hydra.runtime.output_dir = os.path.abspath(output_dir)
    original = HydraConfig.instance().cfg
    HydraConfig.instance().set_config(cfg)
    try:
        task = copy.deepcopy(cfg)
        with read_write(task), open_dict(task):
            del task["hydra"]
        return as_recorded(OmegaConf.to_container(task, resolve=True))
    finally:
        HydraConfig.instance().cfg = original
