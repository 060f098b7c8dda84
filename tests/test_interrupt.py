"""Ctrl-C: one line saying where the run was and where the same command resumes, exit status 130."""

import json
import os
import signal
import subprocess
import sys
import time

from tests.conftest import TINY

LONG = [o for o in TINY if not o.startswith("trainer.steps=")] + ["trainer.steps=100000", "trainer.checkpoint_every=10"]


def interrupt_when_training(args, cwd, log_file):
    """Start `python -m sweeplab ARGS`, send SIGINT once it has written metrics rows, return (rc, stderr)."""
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    proc = subprocess.Popen([sys.executable, "-m", "sweeplab", *args], cwd=cwd, env=env, text=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    deadline = time.time() + 120
    while time.time() < deadline and not (log_file.exists() and log_file.read_text().count("step ") >= 3):
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    return proc.returncode, err


def test_ctrl_c_ends_a_run_in_one_line_with_130_and_the_same_command_resumes(tmp_path):
    run_dir = tmp_path / "run"
    args = [*LONG, f"hydra.run.dir={run_dir}"]
    rc, err = interrupt_when_training(args, tmp_path, run_dir / "sweeplab.log")
    assert rc == 130
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("interrupted at step "), err
    resumes_from = int(lines[0].rsplit(" ", 1)[1])
    assert resumes_from > 0 and resumes_from % 10 == 0  # the last checkpoint
    assert json.loads((run_dir / "summary.json").read_text())["status"] == "running"  # resumable, not failed

    done = subprocess.run([sys.executable, "-m", "sweeplab", *args, "trainer.steps=" + str(resumes_from + 20)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"resuming from {run_dir / 'checkpoint.pt'} at step {resumes_from}" in (run_dir / "sweeplab.log").read_text()


def test_ctrl_c_ends_a_sweep_in_one_line_with_130(tmp_path):
    sweep = tmp_path / "sweep"
    rc, err = interrupt_when_training(
        ["-m", *LONG, "seed=0,1", f"hydra.sweep.dir={sweep}"], tmp_path, sweep / "0" / "sweeplab.log"
    )
    assert rc == 130
    assert err.strip().splitlines()[-1].startswith("interrupted"), err
    assert "Traceback" not in err
