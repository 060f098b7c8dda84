"""The memory-length sweeper's Hydra side, in this process: rounds become jobs with growing numbers,
one launch per round, search.csv after every round, resume by replay, failed jobs, the lock, the dry
run and the one-line refusals. The launcher here writes each job's summary.json from a simulated model
(the end-to-end tests in test_memory_sweeper_e2e.py launch real training)."""

import csv
import json
import logging
import os
from pathlib import Path

import pytest
from hydra.core.utils import JobReturn, JobStatus

from hydra_plugins.sweeplab_memory_sweeper import record, search
from hydra_plugins.sweeplab_sweeper.jobs import locate
from sweeplab.contract import SEARCH_FILE
from sweeplab.errors import ConfigError, UsageError
from sweeplab.lock import hold

MODULE, CLASS = "hydra_plugins.sweeplab_memory_sweeper.sweeper", "MemoryLengthSweeper"
SETTINGS = {"t_min": 3, "t_max": 40, "budget": 24}
ARGS = ["trainer.steps=20"]
BOUNDARY = {"rnn": 9.5, "lstm": 30.5}  # a simulated model solves every T below its boundary


class SimulatedLauncher:
    """Writes each job's summary.json as the job would (status, accuracy, steps), without training.
    `with_config`: record the job's resolved config too (composed as the job would: slower)."""

    def __init__(self, sweeper, fail=None, with_config=False):
        self.sweeper = sweeper
        self.fail = fail or (lambda model, t, seed: False)
        self.with_config = with_config
        self.calls: list[tuple[int, list[list[str]]]] = []

    def launch(self, batch, initial_job_idx):
        self.calls.append((initial_job_idx, [list(job) for job in batch]))
        returns = []
        for num, overrides in enumerate(batch, start=initial_job_idx):
            job_dir = Path(str(self.sweeper.config.hydra.sweep.dir)) / str(num)
            job_dir.mkdir(parents=True, exist_ok=True)
            probe = dict(o.split("=", 1) for o in overrides[:3])
            model, t, seed = probe["model"], int(probe["seq_len"]), int(probe["seed"])
            summary = {"model": model, "seq_len": t, "seed": seed}
            if self.with_config:
                loader = self.sweeper.hydra_context.config_loader
                summary["config"] = locate(loader, self.sweeper.config, overrides, num)[1]
            result = JobReturn(overrides=list(overrides))
            if self.fail(model, t, seed):
                summary.update(status="failed", error="RuntimeError: simulated")
                result.status, result.return_value = JobStatus.FAILED, RuntimeError(f"simulated failure of {job_dir}")
            else:
                solved = t < BOUNDARY[model]
                summary.update(
                    status="completed", final_eval_acc=1.0 if solved else 0.1, steps_done=7 if solved else 20
                )
                result.status, result.return_value = JobStatus.COMPLETED, summary
            (job_dir / "summary.json").write_text(json.dumps(summary))
            returns.append(result)
        return returns


@pytest.fixture
def make(sweeper_setup):
    def make_sweeper(fail=None, args=ARGS, with_config=False, **settings):
        sweeper = sweeper_setup(MODULE, CLASS, args, **{**SETTINGS, **settings})
        sweeper.launcher = SimulatedLauncher(sweeper, fail, with_config)
        return sweeper

    return make_sweeper


def rows(sweep_dir):
    with open(sweep_dir / SEARCH_FILE, newline="") as f:
        return list(csv.DictReader(f))


def test_rounds_become_jobs_with_growing_numbers_and_one_launch_per_round(make, tmp_path, caplog):
    sweeper = make()
    sweep_dir = tmp_path / "sweep"
    with caplog.at_level(logging.INFO):
        returns = sweeper.sweep(ARGS)
    calls = sweeper.launcher.calls
    # one launch per round, numbers continuing where the last round stopped
    starts = [start for start, _ in calls]
    sizes = [len(batch) for _, batch in calls]
    assert starts == [sum(sizes[:i]) for i in range(len(calls))]
    assert len(returns) == len(calls) > 2
    # round 1 gallops every model; each job's overrides name its probe and keep the fixed ones
    first = calls[0][1]
    assert [job[:3] for job in first[:2]] == [
        ["model=rnn", "seq_len=3", "seed=0"],
        ["model=lstm", "seq_len=3", "seed=0"],
    ]
    assert sorted({int(job[1].split("=")[1]) for job in first}) == search.ladder(3, 40)
    assert all(job[3:] == ARGS for _, batch in calls for job in batch)

    record_rows = rows(sweep_dir)
    assert [r["job"] for r in record_rows] == [str(n) for n in range(sum(sizes))]
    assert list(record_rows[0]) == list(record.COLUMNS)
    for row in record_rows:  # the record says what each job dir holds
        summary = json.loads((sweep_dir / row["job"] / "summary.json").read_text())
        assert (summary["model"], summary["seq_len"], summary["seed"]) == (
            row["model"],
            int(row["seq_len"]),
            int(row["seed"]),
        )
        assert row["solved"] == str(summary["final_eval_acc"] >= 0.99)
        assert row["steps_done"] == str(summary["steps_done"]) and row["reason"]
    assert {r["round"] for r in record_rows} == {str(n) for n in range(1, len(calls) + 1)}

    log = caplog.text
    assert "rnn: T50 = " in log and "lstm: T50 = " in log
    assert f"compute: {len(record_rows)} jobs ({len(record_rows)} launched by this sweep)" in log
    assert "the grid seq_len=range(3, 41, 5) x 3 seeds x 2 models would take 48 jobs, 960 steps" in log
    assert caplog.records[-1].getMessage() == f"sweep dir {sweep_dir}; report: multirun-analysis {sweep_dir}"
    for model, t0 in BOUNDARY.items():
        line = next(r.getMessage() for r in caplog.records if r.getMessage().startswith(f"{model}: T50 = "))
        low, high = (float(x) for x in line.split("95% CI ")[1].split(")")[0].split("-"))
        assert low <= t0 <= high


def test_a_rerun_launches_nothing_and_keeps_the_record(make, tmp_path):
    make(budget=12).sweep(ARGS)
    before = (tmp_path / "sweep" / SEARCH_FILE).read_text()
    again = make(budget=12)
    assert again.sweep(ARGS) == []
    assert again.launcher.calls == []
    assert (tmp_path / "sweep" / SEARCH_FILE).read_text() == before


def test_a_larger_budget_continues_the_search_after_the_last_job(make, tmp_path):
    first = make(budget=10)
    first.sweep(ARGS)
    used = len(rows(tmp_path / "sweep"))
    assert used == 10
    more = make(budget=16)
    more.sweep(ARGS)
    assert more.launcher.calls[0][0] == 10  # new jobs after the old ones
    assert [r["job"] for r in rows(tmp_path / "sweep")] == [str(n) for n in range(16)]


def test_a_failed_job_is_not_solved_the_search_goes_on_and_the_sweep_fails_at_the_end(make, tmp_path):
    sweeper = make(fail=lambda model, t, seed: model == "rnn" and t == 6)
    with pytest.raises(RuntimeError, match="simulated failure"):
        sweeper.sweep(ARGS)
    record_rows = rows(tmp_path / "sweep")
    failed = [r for r in record_rows if r["model"] == "rnn" and r["seq_len"] == "6"]
    assert failed and all(r["solved"] == "False" and r["final"] == "" for r in failed)
    assert max(int(r["round"]) for r in record_rows) >= 3  # later rounds ran after the failure

    # a rerun runs the failed job again (it fails again): the same search, nothing else relaunched
    again = make(fail=lambda model, t, seed: model == "rnn" and t == 6)
    with pytest.raises(RuntimeError, match="simulated failure"):
        again.sweep(ARGS)
    relaunched = [job for _, batch in again.launcher.calls for job in batch]
    assert relaunched == [["model=rnn", "seq_len=6", f"seed={r['seed']}", *ARGS] for r in failed]
    assert [r["job"] for r in rows(tmp_path / "sweep")] == [r["job"] for r in record_rows]


def test_a_rerun_whose_failed_job_now_solves_keeps_every_dir_its_own(make, tmp_path):
    """The replay changes course after the repaired job: new probes get new numbers, none lands in a
    dir of another probe, and the probes no longer part of the search stay listed as such."""
    with pytest.raises(RuntimeError):
        make(fail=lambda model, t, seed: model == "rnn" and t == 6 and seed == 0).sweep(ARGS)
    before = rows(tmp_path / "sweep")
    repaired = make()
    repaired.sweep(ARGS)
    after = rows(tmp_path / "sweep")
    keys = [(r["model"], r["seq_len"], r["seed"]) for r in after]
    assert len(set(keys)) == len(keys)
    jobs = [int(r["job"]) for r in after]
    assert len(set(jobs)) == len(jobs)
    old = {(r["model"], r["seq_len"], r["seed"]): r["job"] for r in before}
    assert all(old.get(k, r["job"]) == r["job"] for k, r in zip(keys, after, strict=True))  # a probe keeps its job
    new = [int(r["job"]) for r in after if (r["model"], r["seq_len"], r["seed"]) not in old]
    assert all(n > max(int(j) for j in old.values()) for n in new)
    for r in after:  # every dir holds the probe its row names
        summary = json.loads((tmp_path / "sweep" / r["job"] / "summary.json").read_text())
        assert (summary["model"], str(summary["seq_len"]), str(summary["seed"])) == (
            r["model"],
            r["seq_len"],
            r["seed"],
        )


def test_the_dry_run_shows_the_rules_and_round_one_and_writes_nothing(make, tmp_path, caplog):
    sweeper = make(dry_run=True)
    with caplog.at_level(logging.INFO):
        assert sweeper.sweep(ARGS) == []
    assert not (tmp_path / "sweep").exists()
    text = caplog.text
    assert "gallop T = 3, 6, 12, 24, 40" in text and "at most 24 jobs" in text
    assert "round 1: 10 jobs, 10 would run next, 0 finished earlier" in text
    assert "   9  new         lstm     40    0  gallop up from t_min=3" in text


def test_the_dry_run_of_a_finished_search_replays_it(make, tmp_path, caplog):
    make(budget=12).sweep(ARGS)
    with caplog.at_level(logging.INFO):
        make(budget=12, dry_run=True).sweep(ARGS)
    assert "round 1: 10 jobs, all finished earlier" in caplog.text
    assert "the search is complete: rnn: T50 = " in caplog.text


def test_another_sweep_holding_the_dir_is_named_in_one_line(make, tmp_path):
    sweep_dir = tmp_path / "sweep"
    sweep_dir.mkdir()
    with hold(sweep_dir, "sweep"), pytest.raises(UsageError, match=f"in use by pid {os.getpid()}"):
        make().sweep(ARGS)
    assert not (sweep_dir / SEARCH_FILE).exists()


def test_a_dir_of_another_sweep_is_refused_before_anything_is_written(make, tmp_path):
    make(budget=4, with_config=True).sweep(ARGS)
    sweep_dir = tmp_path / "sweep"
    before = {p: p.read_bytes() for p in sweep_dir.rglob("*") if p.is_file()}
    with pytest.raises(Exception, match="holds runs of another config.*choose a new hydra.sweep.dir"):
        make(args=["trainer.steps=21"]).sweep(["trainer.steps=21"])
    assert {p: p.read_bytes() for p in sweep_dir.rglob("*") if p.is_file()} == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["model=rnn"], "model=rnn: the memory-length sweeper sets model, seq_len and seed itself"),
        (["seq_len=10"], "seq_len=10: the memory-length sweeper sets"),
        (["seed=3"], "seed=3: the memory-length sweeper sets"),
        (["optim.lr=0.001,0.01"], "optim.lr=0.001,0.01: the memory-length sweeper runs one search"),
    ],
)
def test_settings_the_search_owns_are_refused_in_one_line(make, args, message):
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")) as refused:
        make(args=args).sweep(args)
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"t_min": 1}, "t_min must be >= 2"),
        ({"t_min": 50}, "t_max must be above t_min"),
        ({"threshold": 1.5}, "threshold must be in (0, 1]"),
        ({"budget": 0}, "budget (jobs) must be >= 1"),
    ],
)
def test_bad_sweeper_settings_are_refused_in_one_line(make, settings, message):
    with pytest.raises(ConfigError, match=r"hydra\.sweeper \(memory_length\): .*" + message.replace("(", r"\(")
                       .replace(")", r"\)").replace(".", r"\.")):  # fmt: skip
        make(**settings).sweep(ARGS)


def test_an_unknown_model_is_named_with_the_choices(make):
    with pytest.raises(ConfigError, match="hydra.sweeper.models: no model named nope; choose from .*lstm.*rnn"):
        make(models=["rnn", "nope"]).sweep(ARGS)


def test_only_a_memory_task_has_a_memory_length(make):
    with pytest.raises(ConfigError, match=r"searches a memory task's seq_len \(.*palindrome.*\); got task=gan"):
        make(args=["task=gan"]).sweep(["task=gan"])


@pytest.mark.parametrize(
    ("summary", "solved"),
    [
        ({"status": "completed", "final_eval_acc": 0.995}, True),
        ({"status": "completed", "final_eval_acc": 0.99}, True),
        ({"status": "completed", "final_eval_acc": 0.98}, False),
        ({"status": "completed", "final_eval_acc": None}, False),
        ({"status": "diverged", "final_eval_acc": 1.0}, False),
        ({"status": "failed"}, False),
        ({"status": "running", "final_eval_acc": 1.0}, False),
        (None, False),
    ],
)
def test_solved_means_completed_at_the_threshold(make, summary, solved):
    assert make().solved(summary) is solved


def test_record_round_trip_and_an_unreadable_record(tmp_path, caplog):
    path = tmp_path / SEARCH_FILE
    written = [
        record.Row(1, "rnn", 5, 0, 0, True, 1.0, 750, "gallop up from t_min=5"),
        record.Row(2, "lstm", 17, 2, 9, None, None, None, "refine: T50 17.2 (95% CI 15.0-19.0), a, b"),
    ]
    record.write(path, written)
    assert record.read(path) == written
    assert record.read(tmp_path / "missing.csv") == []
    path.write_text("round,model\n1,rnn\n")
    with caplog.at_level(logging.WARNING):
        assert record.read(path) == []
    assert "unreadable" in caplog.text
