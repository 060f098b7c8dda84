"""Sweeps through a real SLURM controller (hydra/launcher=slurm_cpu): completion and report, requeue,
preemption, time limits, a failing job, array_parallelism, scancel's SIGTERM, and an MLflow tracker across
a requeue. docs/SCALE_OUT.md records the matrix.

They need a cluster that answers (`bash .ci/local_slurm.sh start` makes one on this machine; `.ci/run`
does it in CI) and skip in one line without one; SWEEPLAB_REQUIRE_SLURM=1 turns that skip into a
failure (CI sets it, so that a cluster that did not come up cannot pass as skipped tests).
Every run is tiny; tests/scaleout/pace.py slows a run down where a test must act on it mid-training,
so that the timing does not depend on the machine's speed. About 4 minutes in all.
"""

import itertools
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import TINY, run_cli
from tests.scaleout.helpers import ENV, SWEEPER, fault, metrics, snapshot, status
from tests.scaleout.pace import pace
from tests.scaleout.slurm import (
    cancel_all,
    final_records,
    interval,
    node_cpus,
    run,
    slurm_env,
    submissions,
    task_id,
    unavailable,
    wait_until,
)

WHY_NOT = unavailable()
if WHY_NOT and os.environ.get("SWEEPLAB_REQUIRE_SLURM") == "1":
    pytestmark = [pytest.mark.slurm]

    @pytest.fixture(autouse=True, scope="module")
    def _require_slurm():
        pytest.fail(f"SWEEPLAB_REQUIRE_SLURM=1 but {WHY_NOT}")
else:
    pytestmark = [
        pytest.mark.slurm,
        pytest.mark.skipif(WHY_NOT is not None, reason=WHY_NOT or ""),
    ]

# 60 steps, an evaluation and a checkpoint every 10: six checkpoints to resume from
RUN = [
    *(o for o in TINY if not o.startswith("trainer.steps=")),
    "trainer.steps=60",
    "seq_len=5",
    "seed=0",
]
LAUNCHER = ["hydra/launcher=slurm_cpu"]
STEPS = [str(s) for s in range(10, 61, 10)]


def sweep_args(sweep: Path, *args: str) -> list[str]:
    return ["-m", SWEEPER, *LAUNCHER, f"hydra.sweep.dir={sweep}", *args]


def sweeplab(sweep: Path, *args: str, timeout: int = 240) -> subprocess.CompletedProcess:
    return run_cli(
        sweep_args(sweep, *args),
        sweep.parent,
        env_extra={**ENV, **slurm_env()},
        timeout=timeout,
    )


@pytest.fixture
def background(tmp_path):
    """Start a sweep without waiting for it; whatever a failing test leaves is killed and cancelled."""
    started = []

    def start(sweep: Path, *args: str) -> subprocess.Popen:
        log = open(tmp_path / f"{sweep.name}.log", "w")  # noqa: SIM115 - closed below
        env = {**os.environ, **ENV, **slurm_env()}
        env.pop("HYDRA_FULL_ERROR", None)
        proc = subprocess.Popen(
            [sys.executable, "-m", "sweeplab", *sweep_args(sweep, *args)],
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        started.append((proc, sweep, log))
        return proc

    yield start
    for proc, sweep, log in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
        cancel_all(sweep)


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> list[dict]:
    """metrics.csv of RUN run once, uninterrupted, on this machine (no SLURM)."""
    out = tmp_path_factory.mktemp("reference")
    result = run_cli([*RUN, f"hydra.run.dir={out / 'run'}"], out)
    assert result.returncode == 0, result.stderr
    rows = metrics(out / "run")
    assert [r["step"] for r in rows] == STEPS
    return rows


def submitit_logs(sweep: Path) -> str:
    return "".join(p.read_text(errors="replace") for p in sorted((sweep / ".submitit").rglob("*_log.*")))


def sweep_log(tmp_path: Path, sweep: Path) -> str:
    return (tmp_path / f"{sweep.name}.log").read_text(errors="replace")


def wait_for_checkpoint(job_dir: Path) -> None:
    wait_until(
        lambda: (job_dir / "checkpoint.pt").exists() and status(job_dir) == "running",
        120,
        f"the first checkpoint in {job_dir}",
    )


def requeue_and_finish(tmp_path, sweep, proc):
    """`scontrol requeue` job 0 of a running sweep; the sweep then completes and job 0 resumed. Its id."""
    job = task_id(sweep, 0)
    requeue = run("scontrol", "requeue", job)
    assert requeue.returncode == 0, requeue.stderr
    assert proc.wait(timeout=240) == 0, sweep_log(tmp_path, sweep)[-3000:]
    assert status(sweep / "0") == "completed"
    assert "resuming from" in (sweep / "0" / "sweeplab.log").read_text()
    return job


# --- 1. a sweep completes, and its report is written ------------------------------------------------
def test_sweep_completes_every_job_and_its_report_is_written(tmp_path):
    sweep = tmp_path / "sweep"
    result = sweeplab(sweep, *RUN, "model=rnn,lstm")
    assert result.returncode == 0, result.stderr[-3000:]
    assert [status(sweep / n) for n in ("0", "1")] == ["completed", "completed"]
    assert "Bypassing sacct error" not in result.stdout + result.stderr  # accounting answers

    script = next((sweep / ".submitit").rglob("*_submission.sh")).read_text()
    assert "#SBATCH --cpus-per-task=1" in script and "#SBATCH --mem=1GB" in script
    assert "--gpus" not in script and "--partition" not in script  # the cluster's default partition
    records = [final_records(task_id(sweep, n))[0] for n in (0, 1)]
    assert [r["State"] for r in records] == ["COMPLETED", "COMPLETED"]
    if node_cpus() >= 2:  # nothing limits the array: both jobs ran at once
        (start0, end0), (start1, end1) = (interval(r) for r in records)
        assert start1 < end0 and start0 < end1, records

    report = run_cli([str(sweep)], tmp_path, module="multirun_analysis")
    assert report.returncode == 0, report.stderr
    assert (sweep / "report.html").exists()
    progress = run_cli([str(sweep)], tmp_path, module="sweeplab.status")
    assert progress.stdout.strip() == f"{sweep}: 2 done, 0 running, 0 failed, 0 pending of 2; finished"


# --- 2. scontrol requeue of a running job ----------------------------------------------------------
def test_scontrol_requeue_continues_from_the_checkpoint_with_identical_metrics(tmp_path, background, reference):
    sweep = tmp_path / "sweep"
    proc = background(sweep, *RUN, *pace(2))
    wait_for_checkpoint(sweep / "0")

    # the progress view, while the job runs on the cluster
    progress = run_cli([str(sweep), "--jobs"], tmp_path, module="sweeplab.status")
    assert progress.returncode == 0 and "1 running" in progress.stdout and "of 1" in progress.stdout, progress.stdout
    assert re.search(r"job +0 +running +[1-6]0/60 steps \(\d+%\)", progress.stdout), progress.stdout

    job = requeue_and_finish(tmp_path, sweep, proc)
    assert metrics(sweep / "0") == reference
    states = [r["State"] for r in final_records(job, duplicates=True)]
    assert states[0] == "REQUEUED" and states[-1] == "COMPLETED", states


# --- 3. preemption: SIGUSR2 as SLURM sends it --------------------------------------------------------
def test_usr2_preemption_checkpoints_requeues_and_ends_with_identical_metrics(tmp_path, background, reference):
    sweep = tmp_path / "sweep"
    proc = background(sweep, *RUN, *pace(2))
    wait_for_checkpoint(sweep / "0")
    job = task_id(sweep, 0)
    signal = run("scancel", "--signal=USR2", job)
    assert signal.returncode == 0, signal.stderr
    assert proc.wait(timeout=240) == 0, sweep_log(tmp_path, sweep)[-3000:]

    assert status(sweep / "0") == "completed"
    logs = submitit_logs(sweep)
    assert "this job is preempted" in logs and f"Requeued job {job}" in logs
    assert "resuming from" in (sweep / "0" / "sweeplab.log").read_text()
    assert metrics(sweep / "0") == reference
    states = [r["State"] for r in final_records(job, duplicates=True)]
    assert "REQUEUED" in states and states[-1] == "COMPLETED", states


# --- 4. a job past its time limit ------------------------------------------------------------------
def test_a_job_past_its_time_limit_is_requeued_until_done(tmp_path, reference):
    """A 1-minute limit with USR2 5 s before it: SLURM's controller sends the signal at its next
    30-s check after the job's last 35 s begin, so each stint lasts 25-55 s. The run needs about
    70 s (six checkpoints, 10 s after each), so it is cut at least once and finished by a requeue;
    every stint counts against max_num_timeout (3)."""
    sweep = tmp_path / "sweep"
    result = sweeplab(
        sweep,
        *RUN,
        *pace(10),
        "hydra.launcher.timeout_min=1",
        "hydra.launcher.signal_delay_s=5",
        "hydra.launcher.max_num_timeout=3",
        timeout=420,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert status(sweep / "0") == "completed"
    logs = submitit_logs(sweep)  # submitit logs each event twice (its own format and Hydra's)
    requeues = len(set(re.findall(r"Requeued job \S+ \((\d+) remaining timeouts\)", logs)))
    assert 1 <= requeues <= 3, logs[-3000:]
    assert (
        len(set(re.findall(r"\(([\d:, -]+)\) - Caught signal SIGUSR2 on \S+: this job is timed-out", logs))) == requeues
    )
    assert metrics(sweep / "0") == reference
    states = [r["State"] for r in final_records(task_id(sweep, 0), duplicates=True)]
    assert states.count("REQUEUED") == requeues and states[-1] == "COMPLETED", states


# --- 5. one job raises -----------------------------------------------------------------------------
def test_one_failing_job_is_recorded_the_others_complete_and_a_rerun_finishes_it(
    tmp_path,
):
    sweep = tmp_path / "sweep"
    args = [o for o in RUN if not o.startswith("seed=")]
    result = sweeplab(sweep, *args, "seed=0,1,2", *fault(1, "raise"))
    assert result.returncode != 0, "the sweep's exit code must say that a job failed"
    assert [status(sweep / str(n)) for n in range(3)] == [
        "completed",
        "failed",
        "completed",
    ]
    assert "injected fault" in (sweep / "1" / "error.txt").read_text()
    assert (sweep / "1" / "checkpoint.pt").exists()
    finished = {n: snapshot(sweep / n) for n in ("0", "2")}
    assert len(submissions(sweep)) == 3

    rerun = sweeplab(sweep, *args, "seed=0,1,2")
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert [status(sweep / str(n)) for n in range(3)] == ["completed"] * 3
    assert {n: snapshot(sweep / n) for n in ("0", "2")} == finished  # not touched, not even .hydra/
    assert len(submissions(sweep)) == 4  # only job 1 was submitted again
    assert "resuming from" in (sweep / "1" / "sweeplab.log").read_text()
    assert [r["step"] for r in metrics(sweep / "1")] == STEPS


# --- 6. array_parallelism --------------------------------------------------------------------------
def test_array_parallelism_limits_how_many_jobs_run_at_once(tmp_path):
    if node_cpus() < 2:
        pytest.skip("the node has one CPU: jobs could not overlap anyway")
    sweep = tmp_path / "sweep"
    args = [o for o in RUN if not o.startswith(("seed=", "trainer.steps="))]
    result = sweeplab(
        sweep,
        *args,
        "trainer.steps=20",
        "seed=0,1,2",
        "hydra.launcher.array_parallelism=1",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    script = next((sweep / ".submitit").rglob("*_submission.sh")).read_text()
    assert "#SBATCH --array=0-2%1" in script
    spans = sorted(interval(final_records(task_id(sweep, n))[0]) for n in range(3))
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert start >= end, spans  # one at a time (sacct's times are whole seconds)


# --- 7. scancel: SIGTERM, then SIGKILL KillWait seconds later ------------------------------------
def test_scancel_sigterm_checkpoints_the_job_which_a_rerun_resumes_with_identical_metrics(
    tmp_path, background, reference
):
    """SLURM ends a job (scancel, a requeue, a preemption without a signal of its own) with SIGTERM
    and SIGKILL KillWait seconds later; submitit only logs the SIGTERM. The job checkpoints the step
    it is at and stops: `running`, not `failed`, and a rerun of the sweep resumes from that step."""
    sweep = tmp_path / "sweep"
    proc = background(sweep, *RUN, *pace(2))
    wait_for_checkpoint(sweep / "0")
    cancel = run("scancel", task_id(sweep, 0))
    assert cancel.returncode == 0, cancel.stderr
    proc.wait(timeout=240)
    log = (sweep / "0" / "sweeplab.log").read_text()
    stopped = re.search(r"stopped by SIGTERM at step (\d+): checkpointed", log)
    assert stopped, log[-2000:]
    assert status(sweep / "0") == "running"

    rerun = sweeplab(sweep, *RUN)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert status(sweep / "0") == "completed"
    resumed = re.findall(r"resuming from \S+ at step (\d+)", (sweep / "0" / "sweeplab.log").read_text())
    assert resumed == [stopped[1]]
    assert metrics(sweep / "0") == reference


# --- 8. an experiment tracker across a requeue: the job's one MLflow run, each row once -------------
def test_a_requeued_job_continues_its_own_mlflow_run_and_logs_each_row_once(tmp_path, background, reference):
    """Issue 21: the peers open a second tracker run when SLURM requeues a job. The requeued job finds
    its MLflow run again by its identity and logs only the rows that run does not hold yet."""
    mlflow = pytest.importorskip("mlflow", reason="logger=mlflow needs the [mlflow] extra")
    from sweeplab.trackers.mlflow import store_lock
    from tests.trackers.rows import assert_same, csv_rows, mlflow_rows

    sweep = tmp_path / "sweep"
    proc = background(sweep, *RUN, *pace(2), "logger=mlflow")
    wait_for_checkpoint(sweep / "0")
    with store_lock(sweep / "mlflow.db"):  # the job creates the store on a thread of its own: take turns, as jobs do
        client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{sweep / 'mlflow.db'}")

    def logged_runs():
        experiment = client.get_experiment_by_name("sweeplab")
        runs = client.search_runs([experiment.experiment_id]) if experiment else []
        return runs if runs and client.get_metric_history(runs[0].info.run_id, "eval_acc") else None

    wait_until(logged_runs, 120, "the job's first rows in its MLflow run")
    (before,) = logged_runs()

    job = requeue_and_finish(tmp_path, sweep, proc)
    assert [r["State"] for r in final_records(job, duplicates=True)][0] == "REQUEUED"

    (after,) = logged_runs()
    assert after.info.run_id == before.info.run_id and after.info.status == "FINISHED"
    assert metrics(sweep / "0") == reference
    assert_same(mlflow_rows(client, after.info.run_id), csv_rows(sweep / "0"), rel=0)
