"""What to do with a run dir: run, skip or refuse. Shared by the runner and the sweepers (no torch import).

A dir whose summary.json records another config is never touched: not rerun, not overwritten, unless
that run failed before it wrote any result (a refused job of a sweep): there is nothing to lose.
A finished run (`completed`, `diverged`) of the same config is kept as it is; any other state
(`running`: killed or preempted; `failed`; no summary) is run again and continues from its checkpoint.
"""

import contextlib
import copy
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sweeplab.contract import (
    CHECKPOINT_FILE,
    ERROR_FILE,
    FAILED,
    FINISHED,
    SUMMARY_FILE,
    as_recorded,
    identity,
    read_summary,
    same_run,
)


def recorded_config(run_dir: Path) -> tuple[dict | None, bool]:
    """(the config a run dir was started with, whether it came from the checkpoint): from summary.json,
    or, when that is unreadable (a torn or edited file), from its checkpoint, so that a damaged
    summary never lets another config in."""
    summary = read_summary(run_dir)
    if summary is not None and isinstance(summary.get("config"), dict):
        return summary["config"], False
    checkpoint_file = Path(run_dir) / CHECKPOINT_FILE
    if not checkpoint_file.is_file():
        return None, False
    from sweeplab.checkpoint import read  # torch: only for a dir whose summary is damaged

    try:
        config = read(checkpoint_file).get("config")
    except Exception:  # noqa: BLE001 -- an unreadable checkpoint records nothing
        return None, False
    return (config, True) if isinstance(config, dict) else (None, False)


def refusal(run_dir: Path, config: Any = None) -> str:
    """The one-line error for a dir that holds a run of another config (naming the settings that
    differ, when `config`, the resolved config that was refused, is given)."""
    recorded = recorded_config(run_dir)[0] if config is not None else None
    differ = ""
    if recorded is not None:
        there, here = identity(recorded), identity(as_recorded(config))
        keys = [k for k in dict.fromkeys([*there, *here]) if there.get(k, _ABSENT) != here.get(k, _ABSENT)]
        shown = [f"{k}={there.get(k, 'absent')} there, {here.get(k, 'absent')} here" for k in keys[:3]]
        differ = f" ({'; '.join(shown)}{'; ...' if len(keys) > 3 else ''})"
    return (
        f"{run_dir} already holds a run of another config{differ}; "
        "rerun the same command or choose a new output dir (hydra.run.dir / hydra.sweep.dir)"
    )


_ABSENT = object()


def job_state(run_dir: Path, config: Any) -> tuple[str, str]:
    """(state, action) for running `config` (resolved) in `run_dir`: action is run, skip or refuse."""
    recorded, from_checkpoint = recorded_config(run_dir)
    summary = read_summary(run_dir)
    status = str(summary.get("status")) if summary is not None else None
    # An unfinished run continues from its checkpoint under more (or fewer) steps; a finished one is
    # that run exactly.
    resumable = from_checkpoint or status not in FINISHED
    if recorded is not None and not same_run(recorded, as_recorded(config), resumable=resumable):
        if status == FAILED and not holds_results(run_dir):  # refused or crashed before a result: nothing to lose
            return status, "run"
        return "conflict", "refuse"
    if summary is None:
        return ("incomplete" if Path(run_dir).exists() else "new"), "run"
    return status, ("skip" if status in FINISHED else "run")


def holds_results(run_dir: Path) -> bool:
    """Whether a run dir holds anything of a run's results (a checkpoint, a metrics row, a sample)."""
    return any(
        path.name not in (SUMMARY_FILE, ERROR_FILE) and not path.name.endswith(".log")
        for path in Path(run_dir).iterdir()
        if not path.name.startswith(".")
    )


@contextlib.contextmanager
def hydra_config_as(cfg: Any) -> Iterator[None]:
    """Make `cfg` Hydra's current config while the block runs (for `${hydra:...}` interpolations in
    a config that is not the running job's), then put the running one back."""
    from hydra.core.hydra_config import HydraConfig

    original = HydraConfig.instance().cfg
    HydraConfig.instance().set_config(cfg)
    try:
        yield
    finally:
        HydraConfig.instance().cfg = original


def resolved_task_config(cfg: Any, output_dir: Path) -> Any:
    """A job's config (`cfg` without its `hydra` node), resolved as the job will see it in
    `output_dir`, as summary.json records it: ${hydra:...} interpolations read `cfg`'s Hydra node,
    with `hydra.runtime.output_dir` set the way Hydra's run_job sets it."""
    from omegaconf import OmegaConf, open_dict, read_write

    cfg = copy.deepcopy(cfg)
    with read_write(cfg.hydra), open_dict(cfg.hydra):  # Hydra marks its own node read-only
        cfg.hydra.runtime.output_dir = os.path.abspath(output_dir)
    with hydra_config_as(cfg):
        task = copy.deepcopy(cfg)
        with read_write(task), open_dict(task):
            del task["hydra"]
        return as_recorded(OmegaConf.to_container(task, resolve=True))
