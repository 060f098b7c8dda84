"""A Hydra callback that keeps Hydra from writing into a single run's dir that holds another config.

Hydra saves `.hydra/` (config.yaml, hydra.yaml, overrides.yaml) into the run dir before the task
starts, and the runner refuses such a dir only then: the earlier run's `.hydra/` would already be
overwritten. `on_run_start` comes before both; a callback cannot stop the run (Hydra turns its
exceptions into warnings), so on a conflict it turns Hydra's `.hydra/` output off for this run and
the runner refuses the dir with its one-line error. Likewise for a finished run that the runner
keeps as it is. Sweeps need no callback: the sweeplab sweeper refuses a conflicting sweep and skips
finished jobs before any job is launched.

A config that does not resolve (`seq_len=${oc.env:NOPE}`) is the runner's to refuse, in one line; the
guard writes no `.hydra/` for it (it cannot tell whose the dir is) and raises nothing, since Hydra
would print a callback's exception as a warning.
"""

from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, read_write
from omegaconf.errors import OmegaConfBaseException

from sweeplab.finished import hydra_config_as, job_state, resolved_task_config


class RunDirGuard(Callback):
    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        try:
            with hydra_config_as(config):  # for ${hydra:...} in the run dir
                run_dir = Path(str(config.hydra.run.dir))
            _, action = job_state(run_dir, resolved_task_config(config, run_dir))
        except (OmegaConfBaseException, OSError):  # the runner (or Hydra) refuses it in one line
            action = "refuse"
        # refuse: the runner refuses the dir; skip: it keeps the finished run as it is (possibly
        # recorded under other execution settings, which its .hydra/ must keep showing).
        if action in ("refuse", "skip"):
            with read_write(config.hydra):  # Hydra marks its own node read-only
                config.hydra.output_subdir = None  # Hydra's run_job then saves no .hydra/
