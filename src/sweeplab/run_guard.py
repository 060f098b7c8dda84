"""A Hydra callback that keeps Hydra from writing into a single run's dir that holds another config.

Hydra saves `.hydra/` (config.yaml, hydra.yaml, overrides.yaml) into the run dir before the task
starts, and the runner refuses such a dir only then: the earlier run's `.hydra/` would already be
overwritten. `on_run_start` comes before both; a callback cannot stop the run (Hydra turns its
exceptions into warnings), so on a conflict it turns Hydra's `.hydra/` output off for this run and
the runner refuses the dir with its one-line error. Sweeps need no callback: the sweeplab sweeper
refuses a conflicting sweep before any job is launched.
"""

import copy
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

from sweeplab.finished import as_recorded, job_state


class RunDirGuard(Callback):
    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        original = HydraConfig.instance().cfg
        HydraConfig.instance().set_config(config)  # for ${hydra:...} in the run dir and the config
        try:
            run_dir = Path(str(config.hydra.run.dir))
            task_cfg = copy.deepcopy(config)
            with read_write(task_cfg), open_dict(task_cfg):
                del task_cfg["hydra"]
            _, action = job_state(run_dir, as_recorded(OmegaConf.to_container(task_cfg, resolve=True)))
        finally:
            HydraConfig.instance().cfg = original
        if action == "refuse":
            with read_write(config.hydra):  # Hydra marks its own node read-only
                config.hydra.output_subdir = None  # Hydra's run_job then saves no .hydra/
