"""The resumable sweeper's planning (hydra/sweeper=sweeplab), in this process and without launching:
job numbers as the basic sweeper gives them, each job's state from its dir, and the dry run's table."""

import json

import pytest

from hydra_plugins.sweeplab_sweeper.jobs import closing_line, consecutive_runs

MODULE, CLASS = "hydra_plugins.sweeplab_sweeper.sweeper", "SweeplabSweeper"
SWEEP = ["model=rnn,lstm", "seed=0,1", "trainer.steps=7"]


@pytest.mark.parametrize(
    ("numbers", "max_len", "runs"),
    [
        ([], None, []),
        ([0, 1, 2, 5, 6], None, [[0, 1, 2], [5, 6]]),
        ([0, 1, 2, 5, 6], 2, [[0, 1], [2], [5, 6]]),
        ([3], 1, [[3]]),
        ([0, 1, 2, 3], -1, [[0, 1, 2, 3]]),  # Hydra's "no limit"
        ([0, 2, 4], None, [[0], [2], [4]]),
    ],
)
def test_consecutive_runs(numbers, max_len, runs):
    assert consecutive_runs(numbers, max_len) == runs


def write_summary(job_dir, status, config):
    job_dir.mkdir(parents=True, exist_ok=True)
    (job_dir / "summary.json").write_text(json.dumps({"status": status, "config": config}))


def test_plan_numbers_jobs_like_the_basic_sweeper_and_reads_each_dir(sweeper_setup, tmp_path):
    sweeper = sweeper_setup(MODULE, CLASS, SWEEP)
    planned = sweeper.plan(SWEEP)
    assert [job.num for job in planned] == [0, 1, 2, 3]
    assert [job.overrides[:2] for job in planned] == [
        ["model=rnn", "seed=0"], ["model=rnn", "seed=1"], ["model=lstm", "seed=0"], ["model=lstm", "seed=1"]
    ]  # fmt: skip
    assert [job.job_dir for job in planned] == [tmp_path / "sweep" / str(n) for n in range(4)]
    assert {(job.state, job.action) for job in planned} == {("new", "run")}
    # the resolved config is the one the job will record: its own model, seed and settings
    assert planned[2].config["model"]["name"] == "lstm" and planned[2].config["seed"] == 0
    assert planned[2].config["trainer"]["steps"] == 7

    write_summary(planned[0].job_dir, "completed", planned[0].config)
    write_summary(planned[1].job_dir, "failed", planned[1].config)
    other = json.loads(json.dumps(planned[2].config))
    other["trainer"]["steps"] = 8
    write_summary(planned[2].job_dir, "completed", other)
    (planned[3].job_dir).mkdir()  # started, killed before its summary
    states = [(job.state, job.action) for job in sweeper.plan(SWEEP)]
    assert states == [("completed", "skip"), ("failed", "run"), ("conflict", "refuse"), ("incomplete", "run")]


def test_max_batch_size_and_params_make_the_same_jobs(sweeper_setup):
    sweeper = sweeper_setup(MODULE, CLASS, ["seed=0,1"], max_batch_size=1, params={"model": "rnn,lstm"})
    planned = sweeper.plan(["seed=0,1"])
    assert [job.overrides for job in planned] == [
        ["model=rnn", "seed=0"], ["model=rnn", "seed=1"], ["model=lstm", "seed=0"], ["model=lstm", "seed=1"]
    ]  # fmt: skip


def test_a_subdir_reading_the_job_resolves_per_job(sweeper_setup, tmp_path):
    overrides = [*SWEEP, "hydra.sweep.subdir=${hydra.job.override_dirname}"]
    planned = sweeper_setup(MODULE, CLASS, overrides).plan(SWEEP)
    names = [job.job_dir.name for job in planned]
    assert len(set(names)) == 4 and "model=lstm,seed=1,trainer.steps=7" in names


def test_format_plan_counts_and_lists_every_job(sweeper_setup, tmp_path):
    module = __import__(MODULE, fromlist=["format_plan"])
    sweeper = sweeper_setup(MODULE, CLASS, SWEEP)
    planned = sweeper.plan(SWEEP)
    write_summary(planned[1].job_dir, "completed", planned[1].config)
    planned = sweeper.plan(SWEEP)
    lines = module.format_plan(tmp_path / "sweep", planned).splitlines()
    assert lines[0] == f"Sweep dir {tmp_path / 'sweep'}: 4 jobs, 3 to run, 1 to skip"
    assert lines[1].split() == ["job", "state", "action", "dir", "overrides"]
    assert lines[3].split() == ["1", "completed", "skip", "1", "model=rnn", "seed=1", "trainer.steps=7"]
    assert len(lines) == 2 + 4


def test_closing_line_names_the_sweep_dir_and_the_report_command(tmp_path):
    assert closing_line(tmp_path) == f"sweep dir {tmp_path}; report: multirun-analysis {tmp_path}"
