"""A Hydra callback that tells sweeplab.interrupts which command resumes this run or sweep.

The same command resumes a run only when it names the run dir: by default Hydra puts every run
in a new `outputs/DATE/TIME` (a sweep in `multirun/DATE/TIME`), so after a Ctrl-C the command that
resumes is the same one plus `hydra.run.dir=` (or `hydra.sweep.dir=`) the dir Hydra chose. That dir
is known in `on_run_start` / `on_multirun_start`, in the process that the user started, before any
job runs.
"""

from __future__ import annotations

import os
import shlex
import sys
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException

from sweeplab import interrupts
from sweeplab.finished import hydra_config_as


class ResumeHint(Callback):
    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        interrupts.set_resume_command(resume_command(config, "hydra.run.dir", "run"))

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        interrupts.set_resume_command(resume_command(config, "hydra.sweep.dir", "sweep"), sweep=True)


def resume_command(config: DictConfig, key: str, node: str) -> str | None:
    """None when the command line names the dir (the same command resumes); else the command line
    plus `key=` the dir Hydra chose."""
    if any(override.lstrip("+").partition("=")[0] == key for override in config.hydra.overrides.hydra):
        return None
    try:
        with hydra_config_as(config):  # for ${hydra:...} in the dir
            directory = os.path.abspath(str(config.hydra[node].dir))  # ${now:...}: resolved once, cached
    except OmegaConfBaseException:  # a dir that does not resolve: Hydra refuses it in one line
        return None
    return shlex.join(["sweeplab", *sys.argv[1:], f"{key}={directory}"])
