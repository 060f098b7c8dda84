"""A resumable sweeper: Hydra's basic sweeper that skips finished jobs and guards finished runs.

The default sweeper of `sweeplab -m ...` (conf/config.yaml). It expands the sweep exactly like the
basic sweeper (same jobs, same job numbers, same `hydra.sweep.subdir`), then, before launching
anything, looks at each job's directory:

- `completed` or `diverged` (summary.json) with the same resolved config: skipped, not launched
  (Hydra never rewrites its `.hydra/`, and no SLURM job is spent on it);
- `failed`, `running` (killed, preempted, crashed) or no summary: launched again; a palindrome run
  that left checkpoint.pt continues from it;
- a run of a *different* config: the whole sweep is refused before any job starts, so a different
  sweep can never clobber another sweep's results; choose a new `hydra.sweep.dir`.

`hydra.sweeper.dry_run=true` logs that plan (job, state, action, dir, overrides) and returns
without launching or writing anything.

Jobs keep their numbers: the jobs to run are launched in runs of consecutive numbers (each run is
one `launcher.launch(batch, initial_job_idx)` call). A failing job does not stop the other runs;
the sweep raises the first failure at the end, so the exit code is non-zero.
"""

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.config_store import ConfigStore
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.utils import JobReturn, JobStatus, filter_overrides
from hydra.errors import CompactHydraException
from omegaconf import DictConfig, OmegaConf, open_dict

from sweeplab.finished import job_state, resolved_task_config

log = logging.getLogger(__name__)

@dataclass
class SweeplabSweeperConf:
    _target_: str = "hydra_plugins.sweeplab_sweeper.sweeper.SweeplabSweeper"
    max_batch_size: Optional[int] = None
    params: Optional[Dict[str, str]] = None
    # print the jobs, which are already finished and which would run; launch nothing
    dry_run: bool = False


ConfigStore.instance().store(group="hydra/sweeper", name="sweeplab", node=SweeplabSweeperConf, provider="sweeplab")


@dataclass
class PlannedJob:
    num: int
    overrides: List[str]
    job_dir: Path
    state: str  # new, incomplete, running, failed, completed, diverged, conflict
    action: str  # run, skip, refuse


def consecutive_runs(numbers: Sequence[int], max_len: Optional[int]) -> List[List[int]]:
    """[0, 1, 2, 5, 6] -> [[0, 1, 2], [5, 6]], each cut to at most max_len numbers."""
    runs: List[List[int]] = []
    for n in numbers:
        if runs and runs[-1][-1] == n - 1 and (not max_len or max_len < 0 or len(runs[-1]) < max_len):
            runs[-1].append(n)
        else:
            runs.append([n])
    return runs


class SweeplabSweeper(BasicSweeper):
    def __init__(
        self, max_batch_size: Optional[int] = None, params: Optional[Dict[str, str]] = None, dry_run: bool = False
    ) -> None:
        super().__init__(max_batch_size=max_batch_size, params=params)
        self.dry_run = dry_run

    def plan(self, arguments: List[str]) -> List[PlannedJob]:
        """Every job of the sweep with its number, dir and what to do with it."""
        assert self.hydra_context is not None and self.config is not None
        parser = OverridesParser.create(config_loader=self.hydra_context.config_loader)
        overrides = parser.parse_overrides(self._parse_config() + list(arguments))
        jobs = [job for batch in self.split_arguments(overrides, None) for job in batch]
        original = HydraConfig.instance().cfg
        planned = []
        try:
            for num, job in enumerate(jobs):
                cfg = self.hydra_context.config_loader.load_sweep_config(self.config, list(job))
                with open_dict(cfg):
                    cfg.hydra.job.num = num
                    cfg.hydra.job.id = num
                HydraConfig.instance().set_config(cfg)  # for ${hydra:...} in the dirs and the config
                job_dir = Path(str(cfg.hydra.sweep.dir)) / str(cfg.hydra.sweep.subdir)
                state, action = job_state(job_dir, resolved_task_config(cfg, job_dir))
                planned.append(PlannedJob(num, list(job), job_dir, state, action))
        finally:
            HydraConfig.instance().cfg = original
        return planned

    def sweep(self, arguments: List[str]) -> Any:
        assert self.config is not None and self.launcher is not None
        planned = self.plan(arguments)
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        if self.dry_run:
            log.info("dry run, nothing is launched:\n%s", format_plan(sweep_dir, planned))
        conflicts = [job for job in planned if job.action == "refuse"]
        if conflicts:
            raise CompactHydraException(
                f"{sweep_dir} holds runs of another config (jobs "
                + ", ".join(str(job.num) for job in conflicts)
                + "); a sweep dir can only be resumed by the same sweep: choose a new hydra.sweep.dir"
            )
        if self.dry_run:
            return []  # launch nothing (the analysis callback skips dry runs too)

        to_run = [job for job in planned if job.action == "run"]
        for job in planned:
            if job.action == "skip":
                log.info(f"\t#{job.num} : already {job.state} in {job.job_dir}: skipped")
        if not to_run:
            log.info(f"All {len(planned)} jobs of {sweep_dir} are finished: nothing to launch")
            return []
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")

        returns: List[Sequence[JobReturn]] = []
        by_num = {job.num: job for job in to_run}
        for run in consecutive_runs([job.num for job in to_run], self.max_batch_size):
            batch = [by_num[n].overrides for n in run]
            self.validate_batch_is_legal(batch)
            returns.append(self.launcher.launch(batch, initial_job_idx=run[0]))
        # like the basic sweeper, a failed job fails the sweep, but only once every job has run
        for results in returns:
            for result in results:
                if result.status == JobStatus.FAILED:
                    _ = result.return_value  # re-raises the job's exception
        return returns


def format_plan(sweep_dir: Path, planned: List[PlannedJob]) -> str:
    counts: Dict[str, int] = {}
    for job in planned:
        counts[job.action] = counts.get(job.action, 0) + 1
    lines = [
        f"Sweep dir {sweep_dir}: {len(planned)} jobs, "
        + ", ".join(f"{n} to {action}" for action, n in sorted(counts.items())),
        f"{'job':>4}  {'state':<10}  {'action':<6}  {'dir':<24}  overrides",
    ]
    for job in planned:
        lines.append(
            f"{job.num:>4}  {job.state:<10}  {job.action:<6}  {job.job_dir.name:<24}  "
            + " ".join(filter_overrides(job.overrides))
        )
    return "\n".join(lines)
