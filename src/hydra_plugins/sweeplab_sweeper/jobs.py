"""What both sweeplab sweepers do with a job before and after launching it.

- `locate`: the dir a job will write and its resolved config, as the job itself will see them;
- `consecutive_runs`: job numbers cut into runs, one `launcher.launch(batch, initial_job_idx)` each;
- `raise_first_failure`: a failed job fails the sweep, but only once every job has run;
- `closing_line`: the sweep's last log line, where its results are and how to get the report;
- `refuse_bad_jobs`, `refuse_conflicts`: a bad setting, a job twice, a job outside its sweep dir,
  another sweep's dir: refused before anything is launched;
- `fit_workers`: no more joblib workers than jobs, and none far beyond the cores.
"""

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra.core.utils import JobReturn, JobStatus, filter_overrides
from omegaconf import DictConfig, OmegaConf, open_dict

from sweeplab.contract import identity
from sweeplab.errors import ConfigError, UsageError
from sweeplab.finished import hydra_config_as, resolved_task_config
from sweeplab.output_dirs import check_job_dir
from sweeplab.preflight import check_settings


def locate(config_loader: Any, sweep_config: DictConfig, overrides: Sequence[str], num: int) -> tuple[Path, Any]:
    """(job dir, resolved task config) of job `num` with `overrides`: ${hydra:...} in the sweep's
    subdir and in the config resolve as they will in the job (its number, its output dir)."""
    cfg = config_loader.load_sweep_config(sweep_config, list(overrides))
    with open_dict(cfg):
        cfg.hydra.job.num = num
        cfg.hydra.job.id = num
    with hydra_config_as(cfg):  # ${hydra:...} in the subdir
        job_dir = Path(str(cfg.hydra.sweep.dir)) / str(cfg.hydra.sweep.subdir)
    return job_dir, resolved_task_config(cfg, job_dir)


def consecutive_runs(numbers: Sequence[int], max_len: int | None) -> list[list[int]]:
    """[0, 1, 2, 5, 6] -> [[0, 1, 2], [5, 6]], each cut to at most max_len numbers (None or < 1: no cut)."""
    runs: list[list[int]] = []
    for n in numbers:
        if runs and runs[-1][-1] == n - 1 and (not max_len or max_len < 0 or len(runs[-1]) < max_len):
            runs[-1].append(n)
        else:
            runs.append([n])
    return runs


def raise_first_failure(returns: Sequence[Sequence[JobReturn]]) -> None:
    """Re-raise the first failed job's exception (Hydra then exits non-zero), if any job failed."""
    for results in returns:
        for result in results:
            if result.status == JobStatus.FAILED:
                _ = result.return_value  # re-raises the job's exception


#: a joblib sweep may ask for this many workers per core (their jobs share the cores); far beyond
#: it, each idle worker still holds its own interpreter and torch (about 1 GB): a fork storm
WORKERS_PER_CORE = 4
NO_WORKERS = (
    "hydra.launcher.n_jobs=0 is not allowed; it must be a positive number of parallel jobs (or -1: one per core)"
)


def fit_workers(launcher: Any, jobs: int) -> None:
    """Start no more joblib workers than the `jobs` about to be launched; refuse far more than the cores."""
    settings = getattr(launcher, "joblib", None)
    if not isinstance(settings, dict) or not isinstance(settings.get("n_jobs"), int):
        return  # another launcher
    if settings["n_jobs"] == 0:
        raise ConfigError(NO_WORKERS)
    # what the user asked for, kept on the launcher: each launch (a run of jobs) is fitted anew
    n_jobs = launcher.__dict__.setdefault("requested_n_jobs", settings["n_jobs"])
    cores = os.cpu_count() or 1
    if n_jobs > WORKERS_PER_CORE * cores:
        raise ConfigError(
            f"hydra.launcher.n_jobs={n_jobs} is far above this machine's {cores} cores: each worker holds its own "
            f"torch; use at most {WORKERS_PER_CORE * cores} (or -1: one per core)"
        )
    wanted = n_jobs if n_jobs > 0 else max(cores + 1 + n_jobs, 1)  # joblib's -1: every core, -2: all but one
    settings["n_jobs"] = min(wanted, max(jobs, 1))


def closing_line(sweep_dir: Path) -> str:
    return f"sweep dir {sweep_dir}; report: multirun-analysis {sweep_dir}"


def refuse_bad_jobs(jobs: Sequence[Any]) -> None:
    """Refuse, in one line and before anything is launched, a grid whose job to run has settings that
    are not allowed (named by what sets it apart from the other jobs), or two jobs of one run
    (`-m seq_len=5,5`). Jobs have num, overrides, config, action."""
    shared = set.intersection(*(set(job.overrides) for job in jobs)) if len(jobs) > 1 else set()
    for job in jobs:
        if job.action == "run":
            try:
                check_settings(OmegaConf.create(job.config))
            except UsageError as refused:
                label = " ".join(o for o in filter_overrides(job.overrides) if o not in shared)
                raise type(refused)(f"job {job.num} ({label}): {refused}") from None
    seen: dict[str, Any] = {}
    for job in jobs:  # one run trained twice would be counted twice by the report
        same = seen.setdefault(json.dumps(identity(job.config), sort_keys=True, default=str), job)
        if same is not job:
            raise ConfigError(
                f"jobs {same.num} and {job.num} are the same run ({' '.join(filter_overrides(job.overrides))}); "
                "list each swept value once (repeats of one config: +tag=a,b)"
            )


def refuse_conflicts(sweep_dir: Path, jobs: Sequence[Any]) -> None:
    """Refuse, in one line and before anything is launched: a job whose dir lies outside the sweep dir
    (hydra.sweep.subdir), a sweep dir holding another sweep's runs (jobs whose `action` is "refuse")."""
    for job in jobs:
        check_job_dir(job.job_dir, sweep_dir, job.num)
    conflicts = [job for job in jobs if job.action == "refuse"]
    if conflicts:
        raise UsageError(
            f"{sweep_dir} holds runs of another config (jobs "
            + ", ".join(str(job.num) for job in conflicts)
            + "); a sweep dir can only be resumed by the same sweep: choose a new hydra.sweep.dir"
        )
