"""Talking to a real SLURM controller from the tests: which cluster, is it up, and what it recorded.

The cluster is the one `SLURM_CONF` names, else the local one of `.ci/local_slurm.sh` when its
slurm.conf exists, else the machine's default. Nothing here starts or stops a cluster.
"""

import os
import shutil
import subprocess
import time
from datetime import datetime
from pathlib import Path

LOCAL_CONF = Path(os.environ.get("SWEEPLAB_SLURM_DIR", "/tmp/sweeplab-slurm")) / "etc" / "slurm.conf"
START_HINT = "start one with: bash .ci/local_slurm.sh start"


def slurm_env() -> dict[str, str]:
    """The environment variables that point SLURM's commands (and jobs) at the cluster under test."""
    if "SLURM_CONF" not in os.environ and LOCAL_CONF.exists():
        return {"SLURM_CONF": str(LOCAL_CONF)}
    return {}


def run(*command: str, timeout: int = 30) -> subprocess.CompletedProcess:
    return subprocess.run(
        command,
        check=False,
        env={**os.environ, **slurm_env()},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def unavailable() -> str | None:
    """Why the SLURM tests cannot run here (one line), or None when a controller answers."""
    if shutil.which("sbatch") is None:
        return f"no SLURM here (sbatch not found): {START_HINT}"
    conf = {**os.environ, **slurm_env()}.get("SLURM_CONF", "/etc/slurm/slurm.conf")
    if not Path(conf).exists():
        return f"SLURM is installed but no cluster is configured ({conf} does not exist): {START_HINT}"
    try:
        ping = run("scontrol", "ping", timeout=15)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"the SLURM controller of {conf} does not answer ({exc}): {START_HINT}"
    if "is UP" not in ping.stdout:
        last = (ping.stdout.strip() or ping.stderr.strip() or "no answer").splitlines()[-1]
        return f"the SLURM controller of {conf} does not answer ({last}): {START_HINT}"
    return None


def node_cpus() -> int:
    """The CPUs of the default partition's largest node."""
    out = run("sinfo", "-h", "-o", "%c").stdout.split()
    return max((int(c.rstrip("+")) for c in out if c.rstrip("+").isdigit()), default=0)


def submissions(sweep: Path) -> list[str]:
    """The SLURM ids of the sweep's jobs, oldest first: submitit keeps each job's pickle in a folder
    named after it, .submitit/<array>_<task> for a job array and .submitit/<job> for a launch of one job."""
    pickles = sorted((sweep / ".submitit").glob("*/*_submitted.pkl"), key=lambda p: p.stat().st_mtime)
    return [p.parent.name for p in pickles]


def task_id(sweep: Path, job: int) -> str:
    """The SLURM id of the newest submission of a job of the sweep, in a first launch (where a job's
    index in the array is its job number)."""
    ids = submissions(sweep)
    matching = [i for i in ids if i.endswith(f"_{job}")] or [i for i in ids if "_" not in i]
    assert matching, f"no submission of job {job} in {sweep}/.submitit: {ids}"
    return matching[-1]


def array_ids(sweep: Path) -> list[str]:
    """The SLURM job (or array) ids that submitit used for this sweep, one per launch."""
    return sorted({i.split("_")[0] for i in submissions(sweep)})


def cancel_all(sweep: Path) -> None:
    """Cancel whatever the sweep left in the queue (a failed test must not leave jobs running)."""
    ids = array_ids(sweep) if (sweep / ".submitit").exists() else []
    if ids:
        run("scancel", *ids)


def accounting(job_id: str, duplicates: bool = False) -> list[dict[str, str]]:
    """sacct's records of a job (-D: one per run, requeued ones too), allocations only."""
    fields = "JobID,State,Start,End"
    out = run(
        "sacct",
        "-X",
        "-P",
        "-n",
        *(["-D"] if duplicates else []),
        "-o",
        fields,
        "-j",
        job_id,
    ).stdout
    return [dict(zip(fields.split(","), line.split("|"))) for line in out.splitlines() if line]


def final_records(job_id: str, duplicates: bool = False) -> list[dict[str, str]]:
    """accounting() once SLURM has recorded the job's end: submitit returns as soon as the result
    file is written, while the job's processes (and SLURM's record of them) end a moment later."""
    ended = ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL")
    return wait_until(
        lambda: (records := accounting(job_id, duplicates)) and records[-1]["State"].split()[0] in ended and records,
        60,
        f"SLURM to record the end of job {job_id}",
        poll=0.5,
    )


def interval(record: dict[str, str]) -> tuple[float, float]:
    return tuple(datetime.fromisoformat(record[k]).timestamp() for k in ("Start", "End"))


def wait_until(predicate, timeout: float, what: str, poll: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
