"""Shared settings and checks of the scale-out tests (tests/scaleout)."""

import csv
import json
import os
import time
from pathlib import Path

from tests.conftest import TINY

REPO = Path(__file__).resolve().parents[2]
# The fault-injection callback (tests/scaleout/faults.py) must be importable in every worker.
ENV = {"PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)}
FAST = [*[o for o in TINY if not o.startswith("trainer.steps=")], "trainer.steps=40", "seq_len=5"]
SWEEPER = "hydra/sweeper=sweeplab"
LAUNCHERS = {
    "basic": [],
    "joblib": ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"],
    "submitit_local": ["hydra/launcher=submitit_local", "hydra.launcher.timeout_min=5"],
}


def fault(job: int, how: str) -> list[str]:
    return [
        "+hydra.callbacks.fault._target_=tests.scaleout.faults.Fault",
        f"+hydra.callbacks.fault.job={job}",
        f"+hydra.callbacks.fault.how={how}",
    ]


def status(job_dir: Path) -> str:
    """summary.json's status, or `missing`."""
    try:
        return json.loads((Path(job_dir) / "summary.json").read_text())["status"]
    except (OSError, ValueError, KeyError):
        return "missing"


def metrics(job_dir: Path) -> list[dict]:
    """metrics.csv's rows without the wall-clock column (the rest must be reproducible)."""
    with open(Path(job_dir) / "metrics.csv", newline="") as f:
        return [{k: v for k, v in row.items() if k != "elapsed_s"} for row in csv.DictReader(f)]


def snapshot(root: Path) -> dict:
    """Every file under root (hidden ones too) -> (bytes, mtime_ns): proof that nothing changed."""
    return {
        str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(Path(root).rglob("*"))
        if p.is_file()
    }


def assert_own_dirs(sweep_dir: Path) -> None:
    """Each job dir was written by the job of that number only (hydra.yaml and summary agree)."""
    import yaml

    for job_dir in sorted(p for p in Path(sweep_dir).iterdir() if p.name.isdigit()):
        hydra_yaml = job_dir / ".hydra" / "hydra.yaml"
        if not hydra_yaml.exists():
            continue
        hydra = yaml.safe_load(hydra_yaml.read_text())["hydra"]
        assert hydra["job"]["num"] == int(job_dir.name)
        assert Path(hydra["runtime"]["output_dir"]).resolve() == job_dir.resolve()
        summary = json.loads((job_dir / "summary.json").read_text()) if (job_dir / "summary.json").exists() else None
        if summary:
            assert summary["overrides"] == hydra["overrides"]["task"]


def alive(pid: int) -> bool:
    """Running (a zombie is dead: nobody may reap it in a container without an init)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def outliving(pids: set[int], seconds: float) -> list[int]:
    """The processes of `pids` still running after up to `seconds` (polled: returns once all are gone)."""
    deadline = time.time() + seconds
    while (running := [pid for pid in pids if alive(pid)]) and time.time() < deadline:
        time.sleep(0.2)
    return running
