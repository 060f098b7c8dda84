"""A real `python -m sweeplab` run SIGKILLed midway, rerun into the same dir, ends exactly like
an uninterrupted run (every metrics.csv column but elapsed_s)."""

import json
import os
import signal
import subprocess
import sys
import time

from tests.scaleout.helpers import metrics, status

SETTINGS = [
    "trainer.steps=800",
    "trainer.eval_every=25",
    "trainer.checkpoint_every=50",
    "trainer.batch_size=16",
    "data.eval_size=100",
    "model.hidden_size=16",
    "trainer.device=cpu",
    "seq_len=5",
    "trainer.early_stop=false",  # all 800 steps: the victim must still be training when killed
]


def start(run_dir, cwd):
    return subprocess.Popen(
        [sys.executable, "-m", "sweeplab", *SETTINGS, f"hydra.run.dir={run_dir}"],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_sigkill_midway_then_rerun_continues_exactly(tmp_path, cli):
    reference = start(tmp_path / "reference", tmp_path)  # uninterrupted, alongside the victim
    victim_dir = tmp_path / "victim"
    victim = start(victim_dir, tmp_path)
    deadline = time.monotonic() + 120
    while not (victim_dir / "checkpoint.pt").exists():
        assert victim.poll() is None, victim.communicate()[0]
        assert time.monotonic() < deadline, "no checkpoint appeared"
        time.sleep(0.005)
    os.kill(victim.pid, signal.SIGKILL)
    assert victim.wait() == -signal.SIGKILL

    # killed midway: the summary still says running, and the run is far from its end
    assert status(victim_dir) == "running"
    killed_rows = metrics(victim_dir)
    assert killed_rows and int(killed_rows[-1]["step"]) < 800

    rerun = cli([*SETTINGS, f"hydra.run.dir={victim_dir}"], cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    assert "resuming from" in (victim_dir / "sweeplab.log").read_text()
    assert reference.wait(timeout=120) == 0, reference.communicate()[0]

    assert metrics(victim_dir) == metrics(tmp_path / "reference")
    assert len(metrics(victim_dir)) == 800 // 25
    resumed = json.loads((victim_dir / "summary.json").read_text())
    whole = json.loads((tmp_path / "reference" / "summary.json").read_text())
    for key in ("status", "steps_done", "final_eval_acc", "final_eval_loss", "best_eval_acc", "step_to_99"):
        assert resumed[key] == whole[key], key
