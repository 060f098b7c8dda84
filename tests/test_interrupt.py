"""Ctrl-C and SIGTERM through the real CLI: one line, exit status 130 (143), never `failed`, and the
printed command resumes from the printed step.

Where a test must hit one moment of a run (an import, Hydra's composition, a checkpoint being
written), it does not wait and hope: a `sitecustomize` audit hook in the child sends the signal to
its own process at the n-th import of a module or opening of a file (`signal_at`), so every try
lands in the same place on any machine.
"""

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import TINY
from tests.scaleout.helpers import metrics

LONG = [o for o in TINY if not o.startswith("trainer.steps=")] + ["trainer.steps=100000", "trainer.checkpoint_every=10"]
# rows and checkpoints at 10, 20 and 30
SHORT = [o for o in TINY if not o.startswith("trainer.steps=")] + ["trainer.steps=30"]

SIGNAL_HOOK = """
import os, signal, sys
_event, _needle, _nth, _signum = os.environ["SWEEPLAB_TEST_SIGNAL_AT"].split("|")
_seen = 0
def _hook(event, args):
    global _seen
    if event == _event and _seen >= 0 and _needle in str(args[0]):
        _seen += 1
        if _seen == int(_nth):
            _seen = -1
            os.kill(os.getpid(), int(_signum))
sys.addaudithook(_hook)
"""


def start(args, cwd, signal_at=None) -> subprocess.Popen:
    """`python -m sweeplab ARGS` in the background; `signal_at=(event, needle, n, signum)` makes the
    child signal itself at the n-th audit event `event` ("import" or "open") whose name holds `needle`."""
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    if signal_at is not None:
        hook_dir = Path(cwd) / ".signal_hook"
        if not (hook_dir / "sitecustomize.py").exists():  # written once: other children may be reading it
            hook_dir.mkdir()
            (hook_dir / "sitecustomize.py").write_text(SIGNAL_HOOK)
        env["PYTHONPATH"] = os.pathsep.join([str(hook_dir), *filter(None, [env.get("PYTHONPATH")])])
        env["SWEEPLAB_TEST_SIGNAL_AT"] = "|".join(str(part) for part in signal_at)
    return subprocess.Popen([sys.executable, "-m", "sweeplab", *args], cwd=cwd, env=env, text=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip


def wait_for(condition, proc, what: str, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while not condition():
        assert proc.poll() is None, f"the run ended before {what}: {proc.stderr.read()}"
        assert time.time() < deadline, f"no {what} after {timeout} s"
        time.sleep(0.1)


def rows_logged(log_file: Path, rows: int = 3):
    return lambda: log_file.exists() and len(re.findall(r"\bstep \d+/", log_file.read_text())) >= rows


def stop(proc, signum=signal.SIGINT) -> tuple[int, list[str]]:
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    return proc.returncode, err.strip().splitlines()


def stopped_step(line: str, what: str = "interrupted") -> int:
    match = re.fullmatch(
        rf"{re.escape(what)} at step (\d+) \(checkpointed\); the same command resumes from step (\d+)", line
    )
    assert match and match[1] == match[2], line
    return int(match[1])


def status(run_dir: Path) -> str:
    return json.loads((run_dir / "summary.json").read_text())["status"]


def resumed_at(run_dir: Path) -> list[int]:
    log = (run_dir / "sweeplab.log").read_text()
    return [
        int(s) for s in re.findall(rf"resuming from {re.escape(str(run_dir / 'checkpoint.pt'))} at step (\d+)", log)
    ]


def run(args, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sweeplab", *args], cwd=cwd, capture_output=True, text=True, timeout=180
    )


def test_ctrl_c_ends_a_run_in_one_line_with_130_and_the_same_command_resumes(tmp_path):
    """Wherever the signal lands, the run checkpoints the step it is at: the rerun resumes from it
    and ends with the very rows of a run that was never interrupted."""
    run_dir = tmp_path / "run"
    args = [*LONG, f"hydra.run.dir={run_dir}"]
    proc = start(args, tmp_path)
    wait_for(rows_logged(run_dir / "sweeplab.log"), proc, "three metrics rows")
    rc, lines = stop(proc)
    assert rc == 130 and len(lines) == 1, lines
    step = stopped_step(lines[0])
    assert status(run_dir) == "running"  # resumable, not failed

    done = run([*args, f"trainer.steps={step + 15}"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert resumed_at(run_dir) == [step]
    reference = run([*LONG, f"trainer.steps={step + 15}", f"hydra.run.dir={tmp_path / 'reference'}"], tmp_path)
    assert reference.returncode == 0, reference.stderr
    assert metrics(run_dir) == metrics(tmp_path / "reference")


def test_a_signal_while_a_checkpoint_is_written_names_the_step_that_resumes(tmp_path):
    """The flaky case of issue 20: SIGINT while checkpoint 20 is being written. The write completes,
    the line names step 20, and the rerun resumes from 20."""
    run_dir = tmp_path / "run"
    args = [*LONG, f"hydra.run.dir={run_dir}"]
    proc = start(args, tmp_path, signal_at=("open", ".checkpoint.pt.", 2, signal.SIGINT))
    _, err = proc.communicate(timeout=180)
    assert proc.returncode == 130 and stopped_step(err.strip()) == 20, err
    fewer = run([*args, "trainer.steps=10"], tmp_path)  # "completed after 20 steps" of 10: refused
    assert fewer.returncode == 1, fewer.stderr
    assert "checkpoint.pt is at step 20, past the 10 steps of this run" in fewer.stderr.strip().splitlines()[-1]
    done = run([*args, "trainer.steps=30"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert resumed_at(run_dir) == [20]


def test_sigterm_checkpoints_and_exits_as_preempted_not_failed(tmp_path):
    """SLURM's scancel and requeue send SIGTERM (and SIGKILL KillWait seconds later)."""
    run_dir = tmp_path / "run"
    args = [*LONG, f"hydra.run.dir={run_dir}"]
    proc = start(args, tmp_path)
    wait_for(rows_logged(run_dir / "sweeplab.log"), proc, "three metrics rows")
    rc, lines = stop(proc, signal.SIGTERM)
    assert rc == 143 and len(lines) == 1, lines
    step = stopped_step(lines[0], "terminated (SIGTERM)")
    assert f"stopped by SIGTERM at step {step}: checkpointed" in (run_dir / "sweeplab.log").read_text()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "running" and summary["error"] is None
    done = run([*args, f"trainer.steps={step + 5}"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert resumed_at(run_dir) == [step]


def test_ctrl_c_without_a_run_dir_prints_the_command_that_resumes(tmp_path):
    """By default every run gets a new outputs/DATE/TIME: the printed command names the one to resume."""
    proc = start(LONG, tmp_path)
    wait_for(lambda: any(rows_logged(p, 2)() for p in tmp_path.glob("outputs/*/*/sweeplab.log")), proc, "two rows")
    (run_dir,) = (p.parent.resolve() for p in tmp_path.glob("outputs/*/*/sweeplab.log"))
    rc, lines = stop(proc)
    assert rc == 130 and len(lines) == 1, lines
    match = re.fullmatch(r"interrupted at step (\d+) \(checkpointed\); resume from step \1 with: (.+)", lines[0])
    assert match, lines
    command = shlex.split(match[2])
    assert command == ["sweeplab", *LONG, f"hydra.run.dir={run_dir}"]

    again = start(command[1:], tmp_path)
    wait_for(lambda: resumed_at(run_dir), again, "the resume")
    rc, lines = stop(again)
    assert rc == 130 and resumed_at(run_dir) == [int(match[1])]
    assert len(list(tmp_path.glob("outputs/*/*"))) == 1  # no second run dir


def test_ctrl_c_ends_a_sweep_in_one_line_with_130(tmp_path):
    sweep = tmp_path / "sweep"
    proc = start(["-m", *LONG, "seed=0,1", f"hydra.sweep.dir={sweep}"], tmp_path)
    wait_for(rows_logged(sweep / "0" / "sweeplab.log"), proc, "three metrics rows")
    rc, lines = stop(proc)
    assert rc == 130 and len(lines) == 1, lines
    assert lines[0].startswith("interrupted at step ") and "Traceback" not in lines[0]
    assert status(sweep / "0") == "running"


# Moments from process start to exit: (audit event, name, n-th occurrence) -> the line's beginning.
# Which phase first imports numpy or torch is not these tests' business: any line before training.
BEFORE_TRAINING = ("interrupted before the run started; nothing was trained", "interrupted; the same command resumes")
MOMENTS = {
    ("import", "hydra", 1): BEFORE_TRAINING[0],  # sweeplab's own imports
    ("import", "omegaconf", 1): BEFORE_TRAINING[0],
    ("open", "/conf/config.yaml", 2): BEFORE_TRAINING[0],  # Hydra's composition
    ("import", "numpy", 1): BEFORE_TRAINING,  # inside torch's import
    ("import", "torch.nn", 1): BEFORE_TRAINING,
    ("open", ".summary.json.", 1): BEFORE_TRAINING[1],  # the runner's first write
    ("import", "matplotlib", 1): BEFORE_TRAINING[1],
    ("open", ".metrics.csv.", 2): "interrupted at step 20 (checkpointed)",  # training: a row being written
    ("open", ".checkpoint.pt.", 3): "interrupted at step 30 (checkpointed)",  # the last checkpoint
    ("open", ".curves.png.", 1): BEFORE_TRAINING[1],  # after training
    ("open", ".summary.json.", 4): BEFORE_TRAINING[1],  # the status, written last
}


def test_ctrl_c_at_any_moment_ends_in_one_line_with_130_and_nothing_failed(tmp_path):
    """Issue 20: SIGINT during an import recorded false failures or was swallowed. Each moment is
    hit exactly (an audit hook), all of them at once to keep the test short."""
    procs = {}
    for n, (event, name, nth) in enumerate(MOMENTS):
        run_dir = tmp_path / f"run{n}"
        procs[run_dir] = start(
            [*SHORT, f"hydra.run.dir={run_dir}"], tmp_path, signal_at=(event, name, nth, signal.SIGINT)
        )
    for (run_dir, proc), expected in zip(procs.items(), MOMENTS.values(), strict=True):
        _, err = proc.communicate(timeout=300)
        lines = err.strip().splitlines()
        assert proc.returncode == 130 and len(lines) == 1 and lines[0].startswith(expected), (run_dir.name, err)
        if (run_dir / "summary.json").exists():
            assert status(run_dir) in ("running", "completed"), run_dir.name  # never failed


def handles_sigterm(pid: int) -> bool:
    """Whether the process catches SIGTERM (/proc's SigCgt): Python alone does not, sweeplab's first
    lines (interrupts.install) do. Before that moment a SIGINT is Python's own KeyboardInterrupt."""
    try:
        caught = next(
            line for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("SigCgt:")
        )
    except (OSError, StopIteration):
        return False
    return bool(int(caught.split()[1], 16) >> (signal.SIGTERM - 1) & 1)


@pytest.mark.slow
def test_ctrl_c_at_a_spread_of_wall_clock_delays_always_ends_the_same_way(tmp_path):
    """As a person would: SIGINT from outside, 0 to 8 s after sweeplab's first lines ran (imports,
    composition, torch's import, training), 24 tries. Each ends in one line, 130, never `failed`."""
    for n in range(24):
        delay = n * 8.0 / 23
        run_dir = tmp_path / f"run{n}"
        proc = start([*LONG, f"hydra.run.dir={run_dir}"], tmp_path)
        wait_for(lambda proc=proc: handles_sigterm(proc.pid), proc, "sweeplab's signal handlers", timeout=30)
        time.sleep(delay)
        assert proc.poll() is None, f"run {n} ended before its signal"
        rc, lines = stop(proc)
        assert rc == 130 and len(lines) == 1 and lines[0].startswith("interrupted"), (delay, lines)
        if (run_dir / "summary.json").exists():
            assert status(run_dir) == "running", delay
