"""What both sweeplab sweepers do with a job before and after launching it.

- `locate`: the dir a job will write and its resolved config, as the job itself will see them;
- `consecutive_runs`: job numbers cut into runs, one `launcher.launch(batch, initial_job_idx)` each;
- `raise_first_failure`: a failed job fails the sweep, but only once every job has run;
- `closing_line`: the sweep's last log line, where its results are and how to get the report.
"""

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra.core.utils import JobReturn, JobStatus
from omegaconf import DictConfig, open_dict

from sweeplab.errors import UsageError
from sweeplab.finished import hydra_config_as, resolved_task_config


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


def closing_line(sweep_dir: Path) -> str:
    return f"sweep dir {sweep_dir}; report: multirun-analysis {sweep_dir}"


def refuse_conflicts(sweep_dir: Path, jobs: Sequence[Any]) -> None:
    """Refuse, in one line and before anything is launched, a sweep dir holding another sweep's runs
    (jobs whose `action` is "refuse")."""
    conflicts = [job for job in jobs if job.action == "refuse"]
    if conflicts:
        raise UsageError(
            f"{sweep_dir} holds runs of another config (jobs "
            + ", ".join(str(job.num) for job in conflicts)
            + "); a sweep dir can only be resumed by the same sweep: choose a new hydra.sweep.dir"
        )
