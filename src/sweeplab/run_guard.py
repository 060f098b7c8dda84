"""A Hydra callback that refuses a run or a sweep before Hydra writes anything for it.

Hydra creates the run dir, saves `.hydra/` (config.yaml, hydra.yaml, overrides.yaml) and opens the
log file before the task starts; `on_run_start` and `on_multirun_start` come before all of that. There:

- the run or sweep dir must be one of its own (sweeplab.output_dirs: not `/`, the current dir, a
  home dir, a sweep's dir for a run, a run's dir for a sweep, nor inside another run);
- a sweep's settings (`experiment=quick`, `hydra.sweeper.dry_run=true`) need `-m`;
- a single run's config must pass every check that needs no dir (sweeplab.preflight), so that a
  refused run leaves no dir behind (no `outputs/DATE/TIME` litter) and claims none.

Hydra turns a callback's Exceptions into warnings, so a refusal travels as `preflight.Refused` (a
BaseException), which sweeplab's entrypoint prints as its one line.

A dir that holds another config, or a finished run that the runner keeps as it is, gets no new
`.hydra/` (the earlier run's must stay): the guard turns Hydra's `.hydra/` output off for this run,
and the runner refuses the dir (or keeps the run) with its one line.
"""

from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf, read_write
from omegaconf.errors import OmegaConfBaseException

from sweeplab.errors import ConfigError, UsageError
from sweeplab.finished import hydra_config_as, job_state, resolved_task_config
from sweeplab.output_dirs import RUN_DIR, SWEEP_DIR, check_output_dir
from sweeplab.preflight import Refused, check_job, check_overrides


class RunDirGuard(Callback):
    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        try:
            check_run_mode(config)
            check_overrides(config.hydra.overrides.task)
            with hydra_config_as(config):  # for ${hydra:...} in the run dir
                run_dir = check_output_dir(RUN_DIR, config.hydra.run.dir)
            task_config = resolved_task_config(config, run_dir)
            check_job(OmegaConf.create(task_config))
            action = job_state(run_dir, task_config)[1]
        except UsageError as refused:
            raise Refused(refused) from None
        except OmegaConfBaseException as exc:  # ${oc.env:NOPE}, ${nope}
            raise Refused(ConfigError(f"the config does not resolve: {str(exc).splitlines()[0]}")) from None
        except OSError:  # an unreadable dir: Hydra (or the runner) refuses it in one line
            action = "refuse"
        # refuse: the runner refuses the dir; skip: it keeps the finished run as it is (possibly
        # recorded under other execution settings, which its .hydra/ must keep showing).
        if action in ("refuse", "skip"):
            with read_write(config.hydra):  # Hydra marks its own node read-only
                config.hydra.output_subdir = None  # Hydra's run_job then saves no .hydra/

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        try:
            check_overrides(config.hydra.overrides.task)
            with hydra_config_as(config):
                check_output_dir(SWEEP_DIR, config.hydra.sweep.dir)
        except UsageError as refused:
            raise Refused(refused) from None
        except OmegaConfBaseException:  # the sweeper (or Hydra) refuses it in one line
            pass


def check_run_mode(config: DictConfig) -> None:
    """A sweep's settings without `-m` would train one job and say nothing of the sweep."""
    sweeper = config.hydra.sweeper
    if not (sweeper.get("params") or sweeper.get("dry_run")):
        return
    preset = config.hydra.runtime.choices.get("experiment")
    what = f"experiment={preset} is a sweep" if preset else "hydra.sweeper.dry_run=true plans a sweep"
    if not preset and not sweeper.get("dry_run"):
        what = "hydra.sweeper.params describes a sweep"
    raise ConfigError(f"{what}, and this command runs one job: add -m (sweeplab -m ...) to run the sweep")
