"""sweeplab-status: counts, N, progress and ETA of a sweep from its job dirs; hand-built dirs, real sweeps."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from sweeplab import status, sweeps
from tests.conftest import TINY, run_cli
from tests.scaleout.helpers import ENV, fault
from tests.scaleout.pace import pace

GRID = "hydra_plugins.sweeplab_sweeper.sweeper.SweeplabSweeper"
T0 = time.time() - 1000


def write_sweep(sweep: Path, params=None, task=(), target=GRID) -> None:
    sweep.mkdir(parents=True, exist_ok=True)
    hydra = {"sweeper": {"_target_": target, "params": params}, "overrides": {"task": list(task)}}
    (sweep / "multirun.yaml").write_text(yaml.safe_dump({"hydra": hydra, "seed": 0}))


def write_job(sweep, name, state=None, steps=100, last_step=None, overrides=(), took=None, lock_pid=None, error=None):
    """A job dir as a run leaves it: .hydra/ (started at T0), summary.json, metrics.csv, .lock."""
    job = sweep / name
    (job / ".hydra").mkdir(parents=True)
    (job / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(list(overrides)))
    (job / ".hydra" / "config.yaml").write_text(yaml.safe_dump({"trainer": {"steps": steps}}))
    (job / ".hydra" / "hydra.yaml").write_text("hydra: {}\n")
    os.utime(job / ".hydra" / "hydra.yaml", (T0, T0))
    if last_step is not None:
        rows = ["step,train_loss,train_acc,eval_loss,eval_acc,elapsed_s"]
        rows += [f"{s},1.0,0.5,1.0,0.5,{s / 10}" for s in range(10, last_step + 1, 10)]
        (job / "metrics.csv").write_text("\n".join(rows) + "\n")
    if state is not None:
        summary = {"status": state, "steps": steps, "overrides": list(overrides), "error": error}
        (job / "summary.json").write_text(json.dumps(summary))
        if took is not None:
            os.utime(job / "summary.json", (T0 + took, T0 + took))
    if lock_pid is not None:
        (job / ".lock").write_text(f"pid {lock_pid} on {socket.gethostname()}\n")


def ended_pid() -> int:
    """The pid of a process that has ended."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.fixture
def mixed(tmp_path) -> Path:
    """Six jobs declared (2 models x 3 lengths): every state once, one job not started."""
    sweep = tmp_path / "sweep"
    write_sweep(sweep, params={"model": "rnn,lstm"}, task=["seq_len=10,20,30", "trainer.steps=100"])

    def o(model, t):
        return [f"model={model}", f"seq_len={t}", "trainer.steps=100"]

    write_job(sweep, "0", "completed", last_step=100, overrides=o("rnn", 10), took=50)
    write_job(sweep, "1", "diverged", last_step=30, overrides=o("rnn", 20), took=30)
    write_job(sweep, "2", "running", last_step=40, overrides=o("rnn", 30), lock_pid=os.getpid())
    write_job(sweep, "3", "running", last_step=20, overrides=o("lstm", 10), lock_pid=ended_pid())
    write_job(sweep, "4", "failed", last_step=10, overrides=o("lstm", 20), error="RuntimeError: boom")
    write_job(sweep, "5", overrides=o("lstm", 30))  # Hydra made the dir, the run has not written yet
    return sweep


def test_counts_every_state_of_the_declared_grid(mixed):
    result = status.read_sweep(mixed)
    assert result.expected == 6 and result.total == 6
    assert [j.state for j in result.jobs] == ["completed", "diverged", "running", "interrupted", "failed", "pending"]
    assert result.pending == 1
    # finished jobs: 50 s + 30 s for 100 + 30 steps done (job 1 diverged at step 30); left: 60 steps of
    # job 2, and 100 of the pending job 5 (the interrupted and failed ones wait for a rerun), one at a time
    assert result.eta_s() == pytest.approx(160 * 80 / 130)
    assert status.summary_line(result) == (
        f"{mixed}: 2 done (1 diverged), 1 running, 1 interrupted, 1 failed, 1 pending of 6; ETA 1 min 38 s"
    )


def test_one_line_per_job_names_its_progress_and_what_sets_it_apart(mixed, capsys):
    assert status.main([str(mixed), "--jobs"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 7
    by_job = {line.split()[1]: line for line in lines[1:]}
    assert "40/100 steps (40%)" in by_job["2"] and "model=rnn seq_len=30" in by_job["2"]
    assert "trainer.steps=100" not in by_job["2"]  # the same for every job: not shown
    assert "last write" in by_job["2"]
    assert "20/100 steps (20%)" in by_job["3"] and "interrupted" in by_job["3"]
    assert "100/100 steps" in by_job["0"] and "took 50 s" in by_job["0"]
    assert "error: RuntimeError: boom" in by_job["4"]
    assert by_job["5"].split()[2] == "pending"


def test_jobs_not_started_yet_are_pending_of_the_declared_n(tmp_path, capsys):
    sweep = tmp_path / "sweep"
    write_sweep(sweep, params={"seed": "0,1,2"}, task=["model=rnn,lstm"])
    write_job(sweep, "0", "running", last_step=10, overrides=["seed=0", "model=rnn"], lock_pid=os.getpid())
    assert status.main([str(sweep), "--jobs"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{sweep}: 0 done, 1 running, 0 failed, 5 pending of 6; ETA after the first job finishes"
    assert out[-1] == "  ... and 5 job(s) not started (no dir yet)"


def test_a_gan_run_counts_its_steps_from_epochs_and_steps_per_epoch(tmp_path):
    sweep = tmp_path / "sweep"
    write_sweep(sweep, task=["task=gan"])
    write_job(sweep, "0", last_step=30, lock_pid=os.getpid())
    (sweep / "0" / "summary.json").write_text(json.dumps({"status": "running", "epochs": 2, "steps_per_epoch": 50}))
    job = status.read_sweep(sweep).jobs[0]
    assert (job.state, job.done, job.total, job.unit) == ("running", 30, 100, "steps")


def test_a_sweep_that_ended_with_a_failure_says_to_rerun_it(tmp_path):
    sweep = tmp_path / "sweep"
    write_sweep(sweep, task=["seed=0,1"])
    write_job(sweep, "0", "completed", last_step=100, took=10)
    write_job(sweep, "1", "failed", last_step=10, error="RuntimeError: boom")
    assert status.summary_line(status.read_sweep(sweep)) == (
        f"{sweep}: 1 done, 0 running, 1 failed, 0 pending of 2; stopped: rerun the sweep to run the unfinished jobs again"
    )


def test_a_torn_summary_is_corrupt_as_the_analysis_says_not_pending(tmp_path):
    from multirun_analysis.runs import CORRUPT

    sweep = tmp_path / "sweep"
    write_sweep(sweep, task=["seed=0,1"])
    write_job(sweep, "0", "completed", last_step=100, took=10)
    write_job(sweep, "1", "completed", last_step=100, took=10)
    (sweep / "1" / "summary.json").write_text('{"status": "completed", "final_eval_')
    result = status.read_sweep(sweep)
    assert [j.state for j in result.jobs] == ["completed", CORRUPT]
    assert status.summary_line(result).startswith(f"{sweep}: 1 done, 0 running, 0 failed, 1 corrupt, 0 pending of 2")


@pytest.mark.parametrize(
    "arguments,size",
    [
        (["model=rnn,lstm", "seq_len=range(10,31,5)", "seed=0"], 10),
        (["model=rnn,lstm", "model=gru"], 1),  # a later override of a key replaces the earlier one
        (["seed=choice(0,1,2)", "+tag=a,b"], 6),
        (["optim.lr=interval(0.001,0.1)"], None),  # only optimising sweepers take intervals
        ([], 1),
    ],
)
def test_grid_size_follows_hydras_basic_sweeper(arguments, size):
    jobs = sweeps.expand_grid(arguments)  # the one expansion, shared with multirun_analysis
    assert (None if jobs is None else len(jobs)) == size


def test_an_adaptive_sweeper_declares_no_n_the_job_dirs_count(tmp_path):
    sweep = tmp_path / "sweep"
    write_sweep(sweep, params={"seq_len": "10,20"}, target="hydra_plugins.some.AdaptiveSweeper")
    write_job(sweep, "0", "completed", last_step=100, took=10)
    result = status.read_sweep(sweep)
    assert result.expected is None and result.total == 1
    assert status.summary_line(result) == f"{sweep}: 1 done, 0 running, 0 failed, 0 pending of 1 found; finished"


@pytest.mark.parametrize(
    "make,message",
    [
        (lambda p: p / "missing", "does not exist (yet): a sweep makes its dir when it starts"),
        (lambda p: (p / "a_file").write_text("x") and p / "a_file", "is a file, not a directory"),
        (lambda p: p, "is not a sweep dir: it has no multirun.yaml and no job dirs"),
        (lambda p: write_job(p, "run", "completed") or p / "run", "is a single run's dir, not a sweep"),
    ],
)
def test_a_dir_that_is_not_a_sweep_gets_one_line_and_exit_1(tmp_path, capsys, make, message):
    assert status.main([str(make(tmp_path))]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1 and message in captured.err
    assert captured.err.startswith("sweeplab-status: error: ")


# --- real sweeps ---------------------------------------------------------------------------------
def test_a_finished_real_sweep(tmp_path):
    sweep = tmp_path / "sweep"
    result = run_cli(["-m", *TINY, "model=rnn,lstm", f"hydra.sweep.dir={sweep}"], tmp_path)
    assert result.returncode == 0, result.stderr
    shown = run_cli([str(sweep), "--jobs"], tmp_path, module="sweeplab.status")
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0] == f"{sweep}: 2 done, 0 running, 0 failed, 0 pending of 2; finished"
    assert all("completed" in line and "20/20 steps" in line for line in lines[1:3])
    assert "model=rnn" in lines[1] and "model=lstm" in lines[2]


def test_a_real_sweep_cut_off_by_a_kill(tmp_path):
    """Job 1 is SIGKILLed after its first checkpoint, which ends the basic launcher's process: job 0
    is done, job 1 is `running` in its summary but its writer is gone, job 2 never started."""
    sweep = tmp_path / "sweep"
    result = run_cli(
        ["-m", *TINY, "seed=0,1,2", f"hydra.sweep.dir={sweep}", *fault(1, "kill")], tmp_path, env_extra=ENV
    )
    assert result.returncode != 0
    shown = run_cli([str(sweep), "--jobs"], tmp_path, module="sweeplab.status")
    lines = shown.stdout.splitlines()
    assert lines[0] == (
        f"{sweep}: 1 done, 0 running, 1 interrupted, 0 failed, 1 pending of 3; "
        "none running now: if the sweep has stopped, rerun it to finish the rest"
    )
    assert "interrupted" in lines[2] and "10/20 steps (50%)" in lines[2]


def test_a_real_sweep_while_it_runs(tmp_path):
    """A sweep (basic launcher) paced so that its first job is still running when it is looked at."""
    sweep = tmp_path / "sweep"
    env = {**os.environ, **ENV}
    proc = subprocess.Popen(
        [sys.executable, "-m", "sweeplab", "-m", *TINY, "seed=0,1", f"hydra.sweep.dir={sweep}", *pace(3)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not (sweep / "0" / "checkpoint.pt").exists():
            assert time.monotonic() < deadline and proc.poll() is None, "the first checkpoint never came"
            time.sleep(0.1)
        shown = status.read_sweep(sweep)
        assert status.summary_line(shown) == (
            f"{sweep}: 0 done, 1 running, 0 failed, 1 pending of 2; ETA after the first job finishes"
        )
        assert shown.jobs[0].done == 10 and shown.jobs[0].total == 20
    finally:
        proc.kill()
        proc.wait()


def test_a_repair_warning_names_the_job_dir_it_is_about(tmp_path, caplog):
    """A sweep repairs its skipped jobs one after another: each warning says which one (issue 20)."""
    from sweeplab.repair import repair_skipped

    job = tmp_path / "sweep" / "3"
    job.mkdir(parents=True)
    (job / "summary.json").write_text(json.dumps({"status": "completed", "task": "palindrome", "steps_done": 20}))
    (job / "metrics.csv").write_text("step,train_loss,train_acc,eval_loss,eval_acc,elapsed_s\n10,1,0.5,1,0.5,0.1")
    with caplog.at_level("WARNING"):
        assert "metrics.csv" in repair_skipped(job)
    assert f"{job}: metrics.csv of this finished run is damaged: cut short in its last line" in caplog.text
