"""Faults injected into real runs: a full disk, a read-only file system, running out of memory, files
cut short, a dead lock holder, broken interpolations; each ends in one line and loses no result
(docs/RELIABILITY.md's fault matrix points here).

Faults that need the kernel's help are real where this machine allows them: a small tmpfs (ENOSPC)
and a read-only bind mount (EROFS) inside a private mount namespace (`unshare -m`, root only), an
address-space limit (setrlimit) for an allocation failure. Where not, the test says why it skips;
a simulated twin of each runs everywhere.
"""

from __future__ import annotations

import errno
import io
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from sweeplab import artifacts, resources
from sweeplab.errors import UsageError
from sweeplab.repair import damaged_files, repair_finished
from sweeplab.runner import run_job
from tests.conftest import TINY, compose_config, run_cli

FRAME = ("Error executing job with overrides:", "Set the environment variable HYDRA_FULL_ERROR=1")


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip() and not line.startswith(FRAME)]
    assert len(lines) == 1, "not one line:\n" + stderr[-3000:]
    assert "Traceback" not in stderr
    return lines[0]


def summary_of(run_dir: Path) -> dict:
    return json.loads((run_dir / "summary.json").read_text())


def mount_namespaces_work() -> bool:
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True)
    return probe.returncode == 0


needs_mounts = pytest.mark.skipif(
    not mount_namespaces_work(), reason="needs root and `unshare -m` (a private mount namespace) for a real fault"
)


def sweeplab_in_namespace(setup: str, args: list[str], cwd: Path, after: str = "") -> subprocess.CompletedProcess:
    """`python -m sweeplab ARGS` in a private mount namespace prepared by the shell line `setup`."""
    command = f"{setup} && {shlex.join([sys.executable, '-m', 'sweeplab', *args])}; rc=$?; {after or 'true'}; exit $rc"
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    return subprocess.run(
        ["unshare", "-m", "sh", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=180
    )


# --- A full disk (issue 15 §7) ---------------------------------------------------------------------


class FillsUp(io.RawIOBase):
    """A file that takes `room` bytes, then fails like a full disk."""

    def __init__(self, room: int):
        self.room = room

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        if len(data) > self.room:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= len(data)
        return len(data)


def test_a_full_disk_inside_torch_save_is_reported_as_enospc_naming_the_file(tmp_path, monkeypatch):
    path = tmp_path / "checkpoint.pt"
    artifacts.save_torch(path, {"w": torch.ones(10)})
    before = path.read_bytes()
    real_fdopen = os.fdopen
    monkeypatch.setattr(os, "fdopen", lambda fd, mode: (os.close(fd), FillsUp(room=5000))[1])
    with pytest.raises(OSError) as error:
        artifacts.save_torch(path, {"w": torch.zeros(100_000)})  # torch says "unexpected pos ..." here
    monkeypatch.setattr(os, "fdopen", real_fdopen)
    assert error.value.errno == errno.ENOSPC and error.value.filename == str(path)
    assert "unexpected pos" in str(error.value.__cause__)  # what used to be recorded
    assert path.read_bytes() == before  # the previous checkpoint is kept
    assert not list(tmp_path.glob(".*.tmp"))


@needs_mounts
def test_a_disk_that_fills_during_a_checkpoint_write_records_enospc_and_keeps_the_last_checkpoint(tmp_path):
    small, kept = tmp_path / "small", tmp_path / "kept"
    small.mkdir()
    # hidden 128: a checkpoint of ~600 KB; the 1 MB disk holds the first, not a second beside it
    args = [*TINY, "model.hidden_size=128", f"hydra.run.dir={small}/run"]
    result = sweeplab_in_namespace(
        f"mount -t tmpfs -o size=1000k tmpfs {small}", args, tmp_path, after=f"cp -a {small}/run {kept}"
    )
    assert result.returncode == 1, result.stderr
    line = one_line(result.stderr)
    assert (
        line
        == f"{small}/run/checkpoint.pt: No space left on device (the disk is full); free it or choose another output dir (hydra.run.dir=... or hydra.sweep.dir=...)"
    )
    summary = summary_of(kept)
    assert summary["status"] == "failed"
    assert summary["error"] == f"OSError: [Errno 28] No space left on device: '{small}/run/checkpoint.pt'"
    assert torch.load(kept / "checkpoint.pt", weights_only=True)["step"] == 10  # the last good one
    assert not list(kept.glob(".*.tmp"))


# --- A read-only file system, a file in the way (issue 15 §8) -------------------------------------


@needs_mounts
@pytest.mark.parametrize("where", ["new run dir", "existing run dir", "sweep dir"])
def test_a_read_only_output_dir_is_one_line(tmp_path, where):
    frozen = tmp_path / "frozen"
    (frozen / "existing").mkdir(parents=True)
    target = {"new run dir": frozen / "new", "existing run dir": frozen / "existing", "sweep dir": frozen / "sweep"}[
        where
    ]
    args = ["-m"] if where == "sweep dir" else []
    args += [*TINY, f"hydra.{'sweep' if where == 'sweep dir' else 'run'}.dir={target}"]
    result = sweeplab_in_namespace(
        f"mount --bind {frozen} {frozen} && mount -o remount,bind,ro {frozen}", args, tmp_path
    )
    assert result.returncode == 1
    assert re.fullmatch(
        re.escape(str(target))
        + r"[^:]*: Read-only file system \(a read-only file system\); free it or choose another output dir.*",
        one_line(result.stderr),
    ), result.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a mode-555 dir; the read-only mount test covers root")
def test_a_dir_this_user_cannot_write_is_one_line(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    result = run_cli([*TINY, f"hydra.run.dir={locked}/run"], tmp_path)
    assert result.returncode == 1
    assert "Permission denied (this user cannot write there)" in one_line(result.stderr)


# --- Out of memory (issue 15 §6) --------------------------------------------------------------------


def test_the_defaults_fit_and_an_absurd_run_is_refused_before_it_allocates(monkeypatch):
    for task in ("palindrome", "gan"):
        cfg = compose_config([f"task={task}"])
        assert resources.peak(resources.estimate(cfg))[0] < 1e9, task  # defaults: well under 1 GB
        resources.check_memory(cfg, torch.device("cpu"))
    monkeypatch.setattr(resources, "host_free", lambda: 2 * 10**9)
    cfg = compose_config(["seq_len=100000", "trainer.batch_size=128"])
    with pytest.raises(resources.NotEnoughMemory) as refused:
        resources.check_memory(cfg, torch.device("cpu"))
    assert re.match(
        r"this run needs about [\d.]+ GB of memory, most of it for the backprop activations \(trainer.batch_size=128 "
        r"x seq_len=100000 x model.hidden_size=128: [\d.]+ GB\); this machine has 2 GB free",
        str(refused.value),
    ), refused.value
    assert str(refused.value).endswith(
        "this machine has 2 GB free: lower those settings, or run where more memory is free"
    )


def test_a_cgroup_limit_lowers_the_free_memory(tmp_path):
    (tmp_path / "memory.max").write_text("1073741824\n")
    (tmp_path / "memory.current").write_text("73741824\n")
    assert resources.cgroup_headroom(tmp_path) == 10**9
    (tmp_path / "memory.max").write_text("max\n")
    assert resources.cgroup_headroom(tmp_path) is None


def test_an_allocation_failure_during_a_run_is_a_one_line_failed(tmp_path, monkeypatch):
    from sweeplab.tasks.palindrome import data as palindrome

    def allocator_fails(*args, **kwargs):  # what torch's CPU allocator raises
        raise RuntimeError(
            "[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: can't allocate memory: you tried "
            "to allocate 40000000000 bytes. Error code 12 (Cannot allocate memory)"
        )

    monkeypatch.setattr(palindrome, "random_palindromes", allocator_fails)
    with pytest.raises(resources.NotEnoughMemory) as error:
        run_job(compose_config(TINY), tmp_path, [])
    assert str(error.value) == (
        "out of memory during the run (DefaultCPUAllocator: can't allocate memory: you tried to allocate 40000000000 "
        "bytes. Error code 12 (Cannot allocate memory)); lower the batch, length or model settings, or run where "
        "more memory is free (the traceback is in error.txt)"
    )
    summary = summary_of(tmp_path)
    assert summary["status"] == "failed" and summary["error"] == f"NotEnoughMemory: {error.value}"
    assert "alloc_cpu.cpp" in (tmp_path / "error.txt").read_text()  # the allocator's traceback is kept
    for other in (MemoryError(), torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")):
        assert resources.as_out_of_memory(other) is not None
    assert resources.as_out_of_memory(RuntimeError("shape mismatch")) is None


def _vm_peak_after_import() -> int:
    code = "import torch, sweeplab.tasks.palindrome.train; print(open('/proc/self/status').read())"
    status = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"VmPeak:\s+(\d+) kB", status).group(1)) * 1024


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_a_real_allocation_failure_under_an_address_space_limit_is_a_one_line_failed(tmp_path):
    import resource

    if (resources.host_free() or 0) < 6e9:
        pytest.skip("needs 6 GB free, so that the estimate lets the run start")
    limit = _vm_peak_after_import() + 10**9  # room to start, not for a 4 GB held-out set
    args = [*TINY, "data.eval_size=1600000", "seq_len=20", f"hydra.run.dir={tmp_path}/run"]  # ~4 GB to build
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    result = subprocess.run(
        [sys.executable, "-m", "sweeplab", *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (limit, limit)),
    )  # fmt: skip
    assert result.returncode == 1
    assert one_line(result.stderr).startswith("out of memory during the run (")
    assert summary_of(tmp_path / "run")["status"] == "failed"


@pytest.mark.slow
@pytest.mark.parametrize("model", ["rnn", "lstm", "gru", "lstm_cudnn"])
def test_the_memory_estimate_is_within_a_fifth_of_a_real_runs_peak(tmp_path, model):
    code = f"""
import resource, sys
from tests.conftest import TINY, compose_config
from sweeplab.resources import estimate, peak
from sweeplab.runner import run_job
cfg = compose_config(["model={model}", "seq_len=400", "trainer.batch_size=64", "trainer.device=cpu",
                      "trainer.steps=2", "trainer.eval_every=1"])
run_job(compose_config([*TINY, "model={model}"]), sys.argv[1] + "/warm-up")  # imports, plotting: not the run's
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
run_job(cfg, sys.argv[1] + "/run")
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - base) / peak(estimate(cfg))[0])
"""
    ratio = float(subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=True,
                                 cwd=Path(__file__).parents[1]).stdout.split()[-1])  # fmt: skip
    assert 0.8 < ratio < 1.2, f"measured / estimated = {ratio:.2f}"


# --- Files cut short in a finished run (issue 15 §7) ------------------------------------------------


@pytest.fixture
def finished_run(tmp_path):
    cfg = compose_config(["seq_len=5", *TINY])
    run_dir = tmp_path / "run"
    run_job(cfg, run_dir, [])
    return cfg, run_dir


@pytest.mark.parametrize("cut", ["mid-line", "last line"])
def test_a_finished_runs_truncated_metrics_are_rebuilt_from_its_checkpoint(finished_run, caplog, cut):
    cfg, run_dir = finished_run
    metrics = run_dir / "metrics.csv"
    whole = metrics.read_bytes()
    metrics.write_bytes(whole[:-7] if cut == "mid-line" else whole[: whole.rstrip(b"\n").rfind(b"\n") + 1])
    assert set(damaged_files(run_dir, summary_of(run_dir))) == {"metrics.csv"}
    with caplog.at_level("WARNING"):
        summary = run_job(cfg, run_dir, [])
    assert summary["status"] == "completed"
    assert metrics.read_bytes() == whole  # the same rows, byte for byte
    assert "metrics.csv" in caplog.text and "rebuilt from checkpoint.pt (2 rows)" in caplog.text
    assert damaged_files(run_dir, summary_of(run_dir)) == {}


def test_a_sweeper_can_repair_a_skipped_job_and_leaves_a_busy_one_alone(finished_run, caplog):
    from sweeplab.lock import hold
    from sweeplab.repair import repair_skipped

    _, run_dir = finished_run
    metrics = run_dir / "metrics.csv"
    whole = metrics.read_bytes()
    metrics.write_bytes(whole[:-3])
    with hold(run_dir):  # a process that writes there
        assert repair_skipped(run_dir) == {}
    assert "is in use by" in caplog.text and metrics.read_bytes() == whole[:-3]
    assert repair_skipped(run_dir) == {} and metrics.read_bytes() == whole


def test_a_finished_runs_truncated_checkpoint_is_named_and_its_results_kept(finished_run, caplog):
    cfg, run_dir = finished_run
    checkpoint = run_dir / "checkpoint.pt"
    checkpoint.write_bytes(checkpoint.read_bytes()[:1000])
    (run_dir / "metrics.csv").write_bytes((run_dir / "metrics.csv").read_bytes()[:-5])
    before = {p.name: p.read_bytes() for p in run_dir.iterdir() if p.is_file() and p.suffix != ".log"}
    with caplog.at_level("WARNING"):
        assert run_job(cfg, run_dir, [])["status"] == "completed"
    assert "checkpoint.pt of this finished run is damaged: not a complete torch file" in caplog.text
    assert (
        "metrics.csv of this finished run is damaged: cut short in its last line; the last checkpoint cannot rebuild it"
        in caplog.text
    )
    assert {p.name: p.read_bytes() for p in run_dir.iterdir() if p.is_file() and p.suffix != ".log"} == before
    assert set(repair_finished(run_dir)) == {"checkpoint.pt", "metrics.csv"}


# --- The guarantees others built, under the faults they answer (issue 15 §1-§3, §7) ---------------


def test_a_truncated_checkpoint_of_an_unfinished_run_is_kept_aside_and_the_run_starts_over(finished_run):
    cfg, run_dir = finished_run
    artifacts.update_summary(run_dir, status="running")  # as if killed before its end
    (run_dir / "checkpoint.pt").write_bytes((run_dir / "checkpoint.pt").read_bytes()[:500])
    assert run_job(cfg, run_dir, [])["status"] == "completed"
    assert len(list(run_dir.glob("checkpoint.pt.unreadable-*"))) == 1
    assert torch.load(run_dir / "checkpoint.pt", weights_only=True)["step"] == 20


def test_a_torn_summary_lets_no_other_config_in_and_the_same_command_repairs_it(finished_run):
    from sweeplab.errors import ConfigError

    cfg, run_dir = finished_run
    summary = run_dir / "summary.json"
    summary.write_text(summary.read_text()[:40])
    with pytest.raises(ConfigError, match="already holds a run of another config"):
        run_job(compose_config(["seq_len=6", *TINY]), run_dir, [])
    assert run_job(cfg, run_dir, [])["status"] == "completed"
    assert summary_of(run_dir)["seq_len"] == 5


def test_orphan_temporary_files_of_a_killed_write_are_removed_by_the_next_run(finished_run):
    cfg, run_dir = finished_run
    artifacts.update_summary(run_dir, status="running")
    (run_dir / ".checkpoint.pt.abc123.tmp").write_bytes(b"\0" * 1000)
    run_job(cfg, run_dir, [])
    assert not list(run_dir.glob(".*.tmp"))


def test_a_diverged_runs_summary_is_strict_json(tmp_path):
    artifacts.write_json(tmp_path / "summary.json", {"final_eval_loss": float("nan"), "rows": [float("inf"), 1.0]})
    assert json.loads((tmp_path / "summary.json").read_text(), parse_constant=pytest.fail) == {
        "final_eval_loss": None,
        "rows": [None, 1.0],
    }


def test_a_lock_whose_holder_died_is_taken_over_and_a_live_one_refuses(tmp_path):
    from sweeplab.lock import hold

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c", f"from sweeplab.lock import hold\nwith hold({str(run_dir)!r}):\n    print(1, flush=True)\n    input()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout.readline().strip() == "1"
    with pytest.raises(UsageError, match=rf"{re.escape(str(run_dir))} is in use by pid {holder.pid} on "):
        with hold(run_dir):
            pass
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=30)
    with hold(run_dir):  # the kernel dropped the dead holder's lock
        assert f"pid {os.getpid()} " in (run_dir / ".lock").read_text()


# --- What the run guard and the entrypoint do ------------------------------------------------------


def test_an_override_that_does_not_resolve_leaves_a_finished_run_untouched(tmp_path):
    run_dir = tmp_path / "run"
    args = [*TINY, "seq_len=5", f"hydra.run.dir={run_dir}"]
    assert run_cli(args, tmp_path).returncode == 0
    before = {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file() and p.suffix != ".log"}
    result = run_cli([*args, "model.hidden_size=${oc.env:NOPE}"], tmp_path)
    assert result.returncode == 1
    assert one_line(result.stderr).startswith("the config does not resolve: ")
    assert "warn" not in result.stderr.lower()  # the run guard raised nothing for Hydra to print
    assert {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file() and p.suffix != ".log"} == before


def test_help_is_sweeplabs_and_imports_no_torch(tmp_path):
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "sweeplab", "--help"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 0
    for part in ("== Usage ==", "sweeplab -m ", "experiment=quick", "task=gan", "multirun-analysis SWEEP_DIR",
                 "sweeplab-status SWEEP_DIR", "outputs/YYYY-MM-DD", "== Configuration groups", "model: gru, lstm"):  # fmt: skip
        assert part in result.stdout, part
    imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")}
    assert "torch" not in imported, "--help imported torch"
    assert time.perf_counter() - start < 30
