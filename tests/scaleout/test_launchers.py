"""The launchers: the SLURM preset's sbatch script, submitit's requeue, no shared dirs, no stray workers."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import joblib
import pytest
import submitit
from omegaconf import OmegaConf

from hydra_plugins.hydra_submitit_launcher.submitit_launcher import SlurmLauncher
from tests.conftest import compose_config
from tests.scaleout.helpers import (
    ENV,
    FAST,
    LAUNCHERS,
    SWEEPER,
    assert_own_dirs,
    fault,
    metrics,
    outliving,
    status,
)


def slurm_script(tmp_path, monkeypatch, *overrides, preset="slurm") -> tuple[str, object]:
    """The sbatch script that `hydra/launcher=PRESET` would submit, and the submitit executor."""
    cfg = compose_config(
        [f"hydra/launcher={preset}", f"hydra.sweep.dir={tmp_path}", *overrides], return_hydra_config=True
    )
    params = OmegaConf.to_container(cfg.hydra.launcher, resolve=True)
    del params["_target_"]
    launcher = SlurmLauncher(**params)
    launcher.setup(hydra_context=None, task_function=None, config=cfg)
    captured = {}

    def map_array(executor, fn, *args):  # stands in for sbatch: keep the executor, submit nothing
        captured["executor"] = executor._executor
        return []

    monkeypatch.setattr(submitit.AutoExecutor, "map_array", map_array)
    # no cluster here: submitit would refuse to build a SLURM executor without `srun` on PATH
    monkeypatch.setattr(submitit.SlurmExecutor, "affinity", classmethod(lambda cls: 1))
    launcher.launch([["seed=0"]], initial_job_idx=0)
    executor = captured["executor"]
    return executor._make_submission_file_text("python -u -m submitit.core._submit FOLDER", "uid"), executor


def test_slurm_preset_asks_for_one_gpu_and_requeues(tmp_path, monkeypatch):
    script, executor = slurm_script(tmp_path, monkeypatch)
    lines = set(script.splitlines())
    for line in (
        "#SBATCH --partition=gpu",
        "#SBATCH --gpus-per-node=1",
        "#SBATCH --ntasks-per-node=1",
        "#SBATCH --cpus-per-task=4",
        "#SBATCH --mem=16GB",
        "#SBATCH --time=240",
        "#SBATCH --signal=USR2@120",
        "#SBATCH --nodes=1",
        "#SBATCH --open-mode=append",  # a requeued job appends to its logs
        "#SBATCH --job-name=sweeplab",
    ):
        assert line in lines, (line, script)
    assert executor.max_num_timeout == 5
    assert str(tmp_path / ".submitit") in script

    script, executor = slurm_script(
        tmp_path,
        monkeypatch,
        "hydra.launcher.partition=a100",
        "hydra.launcher.timeout_min=30",
        "hydra.launcher.max_num_timeout=0",
    )
    assert "#SBATCH --partition=a100" in script and "#SBATCH --time=30" in script
    assert executor.max_num_timeout == 0


def test_slurm_cpu_preset_asks_for_one_cpu_and_the_default_partition(tmp_path, monkeypatch):
    script, executor = slurm_script(tmp_path, monkeypatch, preset="slurm_cpu")
    lines = set(script.splitlines())
    for line in (
        "#SBATCH --cpus-per-task=1",
        "#SBATCH --mem=1GB",
        "#SBATCH --ntasks-per-node=1",
        "#SBATCH --time=240",
        "#SBATCH --signal=USR2@120",
        "#SBATCH --open-mode=append",
    ):
        assert line in lines, (line, script)
    assert "--gpus" not in script and "--partition" not in script, script
    assert executor.max_num_timeout == 5
    script, _ = slurm_script(tmp_path, monkeypatch, "hydra.launcher.partition=cpu", preset="slurm_cpu")
    assert "#SBATCH --partition=cpu" in script


def test_submitit_checkpoint_resubmits_the_same_job():
    launcher = SlurmLauncher(submitit_folder="x")
    args = (["seed=1"], "hydra.sweep.dir", 3, "job_id_for_3", {})
    delayed = launcher.checkpoint(*args)
    assert isinstance(delayed, submitit.helpers.DelayedSubmission)
    # the same callable with the same job number: the same job dir, where checkpoint.pt waits
    assert delayed.function is launcher and delayed.args == args


def test_submitit_local_preempted_job_is_requeued_and_resumes_exactly(tmp_path, cli):
    """Job 1 gets SIGUSR2 (submitit's preemption signal) after its first checkpoint: submitit
    calls the launcher's checkpoint(), requeues it, and the rerun continues from checkpoint.pt.
    Both jobs train the same thing (+tag only labels them), so their metrics must be equal."""
    sweep = tmp_path / "sweep"
    result = cli(
        ["-m", SWEEPER, *LAUNCHERS["submitit_local"], *FAST, f"hydra.sweep.dir={sweep}", "+tag=a,b", *fault(1, "usr2")],
        cwd=tmp_path,
        env_extra=ENV,
    )
    assert result.returncode == 0, result.stderr
    assert status(sweep / "0") == status(sweep / "1") == "completed"
    assert (sweep / "1" / ".fault-usr2-done").exists()
    log = (sweep / "1" / "sweeplab.log").read_text()
    assert "resuming from" in log
    submitit_logs = "".join(p.read_text() for p in (sweep / ".submitit").rglob("*_log.*"))
    assert "Requeued job" in submitit_logs
    assert metrics(sweep / "1") == metrics(sweep / "0")
    assert_own_dirs(sweep)


def test_two_sweeps_and_two_runs_started_together_never_share_a_dir(tmp_path):
    """Default dirs (timestamps with microseconds), four processes started in the same second."""
    commands = [["-m", "seed=0,1"], ["-m", "seed=0,1"], [], []]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "sweeplab", *c, *FAST, "trainer.steps=10"],
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for c in commands
    ]
    started = time.time()
    assert all(p.wait(timeout=120) == 0 for p in procs), [p.stderr.read() for p in procs]
    assert time.time() - started < 120
    sweeps = sorted(Path(tmp_path, "multirun").glob("*/*"))
    runs = sorted(Path(tmp_path, "outputs").glob("*/*"))
    assert len(sweeps) == 2 and len(runs) == 2
    for sweep in sweeps:
        assert sorted(p.name for p in sweep.iterdir() if p.is_dir()) == ["0", "1"]
        assert [status(sweep / n) for n in ("0", "1")] == ["completed", "completed"]
        assert_own_dirs(sweep)
    assert [status(r) for r in runs] == ["completed", "completed"]


def test_joblib_workers_split_the_cores_between_them(tmp_path, cli):
    """With num_threads=null, each of n joblib workers runs on cores / n threads (joblib sets
    OMP_NUM_THREADS in its workers), so parallel jobs do not oversubscribe the machine."""
    sweep = tmp_path / "sweep"
    result = cli(
        [
            "-m",
            *FAST,
            "trainer.num_threads=null",
            "seed=0,1",
            "hydra/launcher=joblib",
            "hydra.launcher.n_jobs=2",
            f"hydra.sweep.dir={sweep}",
        ],
        tmp_path,
        env_extra={**ENV, "OMP_NUM_THREADS": None, "MKL_NUM_THREADS": None},
    )  # joblib keeps a set one
    assert result.returncode == 0, result.stderr
    threads = max(1, joblib.cpu_count() // 2)
    expected = f"on cpu ({threads} thread{'s' if threads > 1 else ''})"
    for job in ("0", "1"):
        assert expected in (sweep / job / "sweeplab.log").read_text()


def descendants(pid: int) -> set[int]:
    """The processes under `pid` now (from /proc): after its death they are re-parented, so a test
    collects them before."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def training_sweep(tmp_path: Path, launcher: str, **popen) -> tuple[subprocess.Popen, Path]:
    """A 2-job sweep of long runs, returned once both jobs are training (the caller ends it)."""
    sweep = tmp_path / "sweep"
    long = [o for o in FAST if not o.startswith("trainer.steps=")] + ["trainer.steps=100000"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "sweeplab", "-m", SWEEPER, *LAUNCHERS[launcher], *long, "seed=0,1",
         f"hydra.sweep.dir={sweep}"],
        cwd=tmp_path, env={**os.environ, **ENV}, stdout=subprocess.DEVNULL, **popen,
    )  # fmt: skip
    deadline = time.time() + 180
    logs = [sweep / n / "sweeplab.log" for n in ("0", "1")]
    while not all(log.exists() and log.read_text().count(" step ") >= 2 for log in logs):
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            proc.wait()
            pytest.fail("both jobs should be training")
        time.sleep(0.2)
    return proc, sweep


@pytest.mark.parametrize("launcher", ["joblib", "submitit_local"])
def test_workers_end_within_seconds_of_the_sweep_process_being_killed(tmp_path, launcher):
    """Issue 20: after SIGKILL of the sweep process, joblib's workers stayed 20+ minutes and
    submitit's local jobs trained on. Each job stops at a checkpoint (`running`, never `failed`)
    and every process under the sweep is gone within 20 s (polled, not slept)."""
    proc, sweep = training_sweep(tmp_path, launcher, stderr=subprocess.DEVNULL)
    workers = descendants(proc.pid)
    proc.kill()
    proc.wait()
    assert workers
    assert not outliving(workers, seconds=20), "workers outlived their sweep process"
    assert [status(sweep / n) for n in ("0", "1")] == ["running", "running"]


def test_ctrl_c_on_a_joblib_sweep_ends_it_and_its_workers_in_one_line(tmp_path):
    """A terminal's Ctrl-C signals the whole process group: the sweep process, its loky workers
    (training: each checkpoints and stops) and loky's resource trackers (which ignore it). One line,
    exit 130, and nothing left running or writing to the terminal (stderr closes) within 20 s."""
    # its own process group, as a terminal gives it
    proc, sweep = training_sweep(tmp_path, "joblib", stderr=subprocess.PIPE, text=True, start_new_session=True)
    workers = descendants(proc.pid)
    try:
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=20)  # returns when every holder of stderr is gone
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    lines = err.strip().splitlines()
    assert proc.returncode == 130 and len(lines) == 1, err
    assert lines[0] == "interrupted; the same command resumes every unfinished job from its last checkpoint"
    # a process closes its stderr as it begins to exit, a moment before it is gone: poll, not look once
    assert not outliving(workers, seconds=10), "workers outlived their sweep process"
    assert [status(sweep / n) for n in ("0", "1")] == ["running", "running"]
