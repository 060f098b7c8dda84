"""The memory-length sweeper end to end: `python -m sweeplab -m hydra/sweeper=memory_length ...` with tiny
real training runs under the basic and joblib launchers (and submitit_local, slow). A low threshold makes
short palindromes "solved" after 20 steps, so the search has a boundary to find; the outcomes are the
training's, so the tests check what must hold whatever they are."""

import csv
import json
import os
import re

import pytest
import yaml

from hydra_plugins.sweeplab_memory_sweeper.search import ladder
from sweeplab.contract import SEARCH_FILE
from sweeplab.lock import hold
from tests.conftest import TINY as SHARED_TINY

# the shared tiny settings, with the preset's early stopping left as it is
TINY = [o for o in SHARED_TINY if not o.startswith("trainer.early_stop")]
SEARCH = [
    "hydra/sweeper=memory_length",
    "hydra.sweeper.t_min=3",
    "hydra.sweeper.t_max=12",
    "hydra.sweeper.target_width=2",  # the default 10 is wider than T = 3..12: done after round 1
    "hydra.sweeper.threshold=0.3",
]
LAUNCHERS = {
    "basic": [],
    "joblib": ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"],
    "submitit_local": ["hydra/launcher=submitit_local", "hydra.launcher.timeout_min=5"],
}


def search_rows(sweep):
    with open(sweep / SEARCH_FILE, newline="") as f:
        return list(csv.DictReader(f))


def snapshot(root):
    return {
        str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(root.rglob("*")) if p.is_file()
    }


def last_line(out: str) -> str:
    """The last log line's message, without its prefix: Hydra's `[time][HYDRA] ` or a job's
    `[time][logger][LEVEL] - ` (which one the sweep process uses depends on the launcher)."""
    return re.sub(r"^(\[[^\]]*\])+( -)? ", "", out.strip().splitlines()[-1])


def check_search(sweep, budget: int) -> list[dict]:
    """Every row of search.csv is an ordinary job dir of that probe, numbered in order, and says what it holds."""
    rows = search_rows(sweep)
    assert 0 < len(rows) <= budget
    assert [int(r["job"]) for r in rows] == list(range(len(rows)))
    round_one = [(r["model"], int(r["seq_len"])) for r in rows if r["round"] == "1"]
    assert round_one == [(m, t) for t in ladder(3, 12) for m in ("rnn", "lstm")][: len(round_one)]
    for r in rows:
        job = sweep / r["job"]
        overrides = yaml.safe_load((job / ".hydra" / "overrides.yaml").read_text())
        assert overrides[:3] == [f"model={r['model']}", f"seq_len={r['seq_len']}", f"seed={r['seed']}"]
        assert yaml.safe_load((job / ".hydra" / "hydra.yaml").read_text())["hydra"]["job"]["num"] == int(r["job"])
        summary = json.loads((job / "summary.json").read_text())
        assert summary["config"]["seq_len"] == int(r["seq_len"]) and summary["config"]["seed"] == int(r["seed"])
        solved = summary["status"] == "completed" and summary["final_eval_acc"] >= 0.3
        assert r["solved"] == str(solved), r
        assert (job / "metrics.csv").exists() or summary["status"] == "failed"
    return rows


def test_a_search_under_the_basic_launcher_then_a_rerun_that_runs_nothing(tmp_path, cli):
    sweep = tmp_path / "sweep"
    args = ["-m", *SEARCH, "hydra.sweeper.budget=8", *TINY, f"hydra.sweep.dir={sweep}"]
    first = cli(args, cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    rows = check_search(sweep, budget=8)
    assert max(int(r["round"]) for r in rows) >= 2  # the search went past round 1
    assert last_line(first.stdout) == f"sweep dir {sweep}; report: multirun-analysis {sweep}"
    assert "rnn: T50 " in first.stdout and "lstm: T50 " in first.stdout
    assert f"compute: {len(rows)} jobs ({len(rows)} launched by this sweep)" in first.stdout

    before = snapshot(sweep)
    again = cli(args, cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "Launching" not in again.stdout
    assert f"compute: {len(rows)} jobs (0 launched by this sweep)" in again.stdout
    after = snapshot(sweep)
    assert {k: v for k, v in after.items() if not k.startswith((".lock", "multirun.yaml"))} == {
        k: v for k, v in before.items() if not k.startswith((".lock", "multirun.yaml"))
    }


def test_a_search_under_joblib(tmp_path, cli):
    sweep = tmp_path / "sweep"
    args = ["-m", *SEARCH, *LAUNCHERS["joblib"], "hydra.sweeper.budget=7", *TINY, f"hydra.sweep.dir={sweep}"]
    done = cli(args, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = check_search(sweep, budget=7)
    assert max(int(r["round"]) for r in rows) == 2  # round 2 numbered after round 1's six jobs
    assert last_line(done.stdout) == f"sweep dir {sweep}; report: multirun-analysis {sweep}"


@pytest.mark.slow
def test_a_search_under_submitit_local(tmp_path, cli):
    sweep = tmp_path / "sweep"
    args = ["-m", *SEARCH, *LAUNCHERS["submitit_local"], "hydra.sweeper.budget=7", *TINY, f"hydra.sweep.dir={sweep}"]
    done = cli(args, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = check_search(sweep, budget=7)
    assert max(int(r["round"]) for r in rows) == 2


def test_failed_jobs_count_as_not_solved_and_the_sweep_fails_only_at_the_end(tmp_path, cli):
    """trainer.patience=${seed}: every seed-0 job is refused by the run's own checks (patience must be
    >= 1), so all of round 1 fails; the search confirms at t_min with seeds 1 and 2, which run."""
    sweep = tmp_path / "sweep"
    args = ["-m", *SEARCH, "hydra.sweeper.budget=10", "trainer.patience=${seed}", *TINY, f"hydra.sweep.dir={sweep}"]
    done = cli(args, cwd=tmp_path)
    assert done.returncode != 0
    assert "trainer.patience=0 is not allowed" in done.stderr
    rows = check_search(sweep, budget=10)
    first = [r for r in rows if r["round"] == "1"]
    assert first and all(r["solved"] == "False" and r["final"] == "" for r in first)
    later = [r for r in rows if r["round"] != "1"]
    assert later and all(r["seed"] != "0" for r in later)  # the search went on after the failures
    assert last_line(done.stdout) == f"sweep dir {sweep}; report: multirun-analysis {sweep}"


def test_the_dry_run_prints_the_rules_and_round_one_and_writes_nothing(tmp_path, cli):
    sweep = tmp_path / "sweep"
    dry = cli(["-m", *SEARCH, "hydra.sweeper.dry_run=true", *TINY, f"hydra.sweep.dir={sweep}"], cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr[-3000:]
    assert "round 1: gallop T = 3, 6, 12" in dry.stdout
    assert "round 1: 6 jobs, 6 would run next, 0 finished earlier" in dry.stdout
    assert not sweep.exists()


@pytest.mark.parametrize("sweeper", ["memory_length", "sweeplab"])
def test_a_second_sweep_into_a_busy_sweep_dir_is_refused_in_one_line(tmp_path, cli, sweeper):
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    args = ["-m", f"hydra/sweeper={sweeper}", *TINY, f"hydra.sweep.dir={sweep}"]
    if sweeper == "sweeplab":
        args.append("model=rnn,lstm")
    with hold(sweep, "sweep"):  # this process stands for the first sweep
        second = cli(args, cwd=tmp_path)
    assert second.returncode != 0
    lines = [line for line in second.stderr.splitlines() if "in use by" in line]
    assert len(lines) == 1 and f"in use by pid {os.getpid()}" in lines[0] and "Traceback" not in second.stderr
    assert sorted(p.name for p in sweep.iterdir()) == [".lock"]  # no job started


def test_the_resumable_sweeper_ends_on_the_sweep_dir_and_the_report_command(tmp_path, cli):
    sweep = tmp_path / "sweep"
    done = cli(["-m", "model=rnn", "seq_len=3", *TINY, f"hydra.sweep.dir={sweep}"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert last_line(done.stdout) == f"sweep dir {sweep}; report: multirun-analysis {sweep}"


def test_the_preset_selects_the_memory_length_sweeper(tmp_path, cli):
    sweep = tmp_path / "sweep"
    dry = cli(
        ["-m", "experiment=memory_length", "hydra.sweeper.dry_run=true", f"hydra.sweep.dir={sweep}"], cwd=tmp_path
    )
    assert dry.returncode == 0, dry.stderr[-3000:]
    assert "round 1: gallop T = 5, 10, 20, 40, 80, 100" in dry.stdout
    assert "at most 100 jobs" in dry.stdout and "interval (calibrated to cover 95%) is < 10 wide" in dry.stdout
