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

One sweep at a time per sweep dir: the sweeper holds the dir's lock (sweeplab.lock) while it decides
and launches, so a second sweep started into the same dir is refused in one line naming the first
one's pid. The last log line names the sweep dir and the command that writes its report.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.config_store import ConfigStore
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.utils import JobReturn, filter_overrides
from omegaconf import OmegaConf

from hydra_plugins.sweeplab_sweeper.jobs import (
    closing_line,
    consecutive_runs,
    fit_workers,
    locate,
    raise_first_failure,
    refuse_bad_jobs,
    refuse_conflicts,
)
from sweeplab.contract import SWEEP_CONFIG
from sweeplab.errors import ConfigError
from sweeplab.finished import job_state
from sweeplab.lock import hold
from sweeplab.repair import repair_skipped

log = logging.getLogger(__name__)


@dataclass
class SweeplabSweeperConf:
    _target_: str = "hydra_plugins.sweeplab_sweeper.sweeper.SweeplabSweeper"
    max_batch_size: int | None = None
    params: dict[str, str] | None = None
    # print the jobs, which are already finished and which would run; launch nothing
    dry_run: bool = False


ConfigStore.instance().store(group="hydra/sweeper", name="sweeplab", node=SweeplabSweeperConf, provider="sweeplab")


@dataclass
class PlannedJob:
    num: int
    overrides: list[str]
    job_dir: Path
    state: str  # new, incomplete, running, failed, completed, diverged, conflict
    action: str  # run, skip, refuse
    config: Any = None  # the job's resolved config, to decide its state again


class SweeplabSweeper(BasicSweeper):
    def __init__(
        self, max_batch_size: int | None = None, params: dict[str, str] | None = None, dry_run: bool = False
    ) -> None:
        super().__init__(max_batch_size=max_batch_size, params=params)
        self.dry_run = dry_run

    def plan(self, arguments: list[str]) -> list[PlannedJob]:
        """Every job of the sweep with its number, dir and what to do with it."""
        assert self.hydra_context is not None and self.config is not None
        parser = OverridesParser.create(config_loader=self.hydra_context.config_loader)
        overrides = parser.parse_overrides(self._parse_config() + list(arguments))
        jobs = [job for batch in self.split_arguments(overrides, None) for job in batch]
        planned = []
        for num, job in enumerate(jobs):
            job_dir, config = locate(self.hydra_context.config_loader, self.config, job, num)
            state, action = job_state(job_dir, config)
            planned.append(PlannedJob(num, list(job), job_dir, state, action, config))
        return planned

    def sweep(self, arguments: list[str]) -> Any:
        assert self.config is not None and self.launcher is not None
        planned = self.plan(arguments)
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        if not planned:  # `seq_len=range(5,5)`: nothing would run, and nothing would say so
            raise ConfigError("this sweep has no jobs: a swept list is empty (such as range(5,5)); give it a value")
        if self.dry_run:
            log.info("dry run, nothing is launched:\n%s", format_plan(sweep_dir, planned))
        refuse_bad_jobs(planned)
        refuse_conflicts(sweep_dir, planned)
        fit_workers(self.launcher, sum(job.action == "run" for job in planned))
        if self.dry_run:
            return []  # launch nothing (the analysis callback skips dry runs too)

        sweep_dir.mkdir(parents=True, exist_ok=True)
        # one sweep at a time in a sweep dir: the plan is decided again under the lock, from the
        # same resolved configs, in case another sweep finished jobs here in the meantime
        with hold(sweep_dir, "sweep"):
            planned = [decided_again(job) for job in planned]
            refuse_conflicts(sweep_dir, planned)
            returns = self.launch(sweep_dir, planned)
        log.info(closing_line(sweep_dir))
        raise_first_failure(returns)
        return returns

    def launch(self, sweep_dir: Path, planned: list[PlannedJob]) -> list[Sequence[JobReturn]]:
        """Launch the jobs to run, in runs of consecutive job numbers."""
        assert self.config is not None and self.launcher is not None
        to_run = [job for job in planned if job.action == "run"]
        for job in planned:
            if job.action == "skip":
                log.info(f"\t#{job.num} : already {job.state} in {job.job_dir}: skipped")
                repair_skipped(job.job_dir)  # a cut metrics.csv is rebuilt from its final checkpoint
        if not to_run:
            log.info(f"All {len(planned)} jobs of {sweep_dir} are finished: nothing to launch")
            return []
        OmegaConf.save(self.config, sweep_dir / SWEEP_CONFIG)
        returns: list[Sequence[JobReturn]] = []
        by_num = {job.num: job for job in to_run}
        for run in consecutive_runs([job.num for job in to_run], self.max_batch_size):
            batch = [by_num[n].overrides for n in run]
            self.validate_batch_is_legal(batch)
            fit_workers(self.launcher, len(batch))
            returns.append(self.launcher.launch(batch, initial_job_idx=run[0]))
        return returns


def decided_again(job: PlannedJob) -> PlannedJob:
    state, action = job_state(job.job_dir, job.config)
    return replace(job, state=state, action=action)


def format_plan(sweep_dir: Path, planned: list[PlannedJob]) -> str:
    counts: dict[str, int] = {}
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
