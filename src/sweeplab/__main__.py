"""The one entrypoint: `sweeplab [overrides]` / `python -m sweeplab [overrides]`.

Hydra composes the config from conf/ and the command line; `_entry` hands it to `run_job` and
returns the run's objective, so that Hydra's optimising sweepers (Optuna, Ax, Nevergrad) can drive
it. Nothing here imports torch: `--help`, `--cfg` and tab completion stay fast.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

import sweeplab
from sweeplab.job import Interrupted
from sweeplab.paths import config_dir, register_resolvers
from sweeplab.runner import objective, run_job

SWEEP_PID = "SWEEPLAB_SWEEP_PID"  # the sweep process's pid, inherited by its parallel workers

register_resolvers()


@hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="config")
def _entry(cfg: DictConfig) -> float | None:
    hydra_cfg = HydraConfig.get()
    multirun = hydra_cfg.mode == RunMode.MULTIRUN
    in_worker = multirun and "joblib" in str(hydra_cfg.launcher.get("_target_", "")).lower()
    summary = run_job(
        cfg,
        Path(hydra_cfg.runtime.output_dir),
        list(hydra_cfg.overrides.task),
        multirun=multirun,
        interactive=sys.stderr.isatty(),
        sweep_pid=int(os.environ[SWEEP_PID]) if in_worker and SWEEP_PID in os.environ else None,
    )
    return objective(cfg, summary)


def main() -> None:
    if sys.argv[1:] in (["--version"], ["-V"]):
        print(f"sweeplab {sweeplab.__version__}")
        return
    os.environ.setdefault(SWEEP_PID, str(os.getpid()))
    try:
        _entry()
    except Interrupted as stop:
        print(stop, file=sys.stderr)
        sys.exit(130)  # the shell's convention for a process ended by SIGINT
    except KeyboardInterrupt:
        print("interrupted; the same command resumes every unfinished run from its last checkpoint", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    main()
