"""Loading sweeps: discovery, job ordering, statuses of broken jobs, typed columns, curves."""

from __future__ import annotations

import pandas as pd
import pytest

from multirun_analysis.load import NoSweepsFound, find_sweeps, load_sweeps


def test_find_sweeps_searches_a_parent_dir(two_sweeps):
    found = find_sweeps([two_sweeps])
    assert [p.relative_to(two_sweeps).as_posix() for p in found] == [
        "2024-05-01/09-00-00-000000", "2024-05-02/09-00-00-000000"]


def test_a_sweep_without_multirun_yaml_is_found_by_its_job_dirs(tmp_path, sweeps):
    sweep = tmp_path / "sw"
    sweeps.write_job(sweep, 0, model="rnn")
    assert find_sweeps([tmp_path]) == [sweep]


def test_no_sweep_raises_saying_why(tmp_path, sweeps):
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    with pytest.raises(NoSweepsFound, match="empty holds no sweep dir"):
        load_sweeps([tmp_path / "empty"])
    with pytest.raises(NoSweepsFound, match="does-not-exist does not exist"):
        load_sweeps([tmp_path / "does-not-exist"])
    job = sweeps.write_job(tmp_path / "sw", 0)
    with pytest.raises(NoSweepsFound, match="is a single run, not a sweep"):
        load_sweeps([job])  # no multirun.yaml beside it: a `sweeplab` run without -m
    (tmp_path / "sw" / "multirun.yaml").write_text("hydra: {}\n")
    with pytest.raises(NoSweepsFound, match="is a job dir; give its sweep dir"):
        load_sweeps([job])


def test_jobs_ordered_numerically_and_statuses_kept(messy_sweep):
    runs = load_sweeps([messy_sweep]).runs
    assert list(runs["job_num"]) == list(range(12))  # 10 and 11 after 9, not after 1
    assert list(runs["job"]) == [str(i) for i in range(12)]
    status = dict(zip(runs["job_num"], runs["status"]))
    assert [status[i] for i in range(6, 12)] == [
        "failed", "diverged", "running", "missing", "corrupt", "completed"]


def test_broken_jobs_keep_their_config_and_say_what_is_wrong(messy_sweep):
    runs = load_sweeps([messy_sweep]).runs.set_index("job_num")
    assert runs.loc[6, "error"] == "RuntimeError: boom"
    assert runs.loc[9, "problems"] == "no summary.json"
    assert "summary.json unreadable" in runs.loc[10, "problems"]
    assert "metrics.csv unreadable" in runs.loc[11, "problems"]
    # config comes from .hydra/config.yaml even when summary.json is missing or corrupt
    assert runs.loc[9, "model"] == "lstm" and runs.loc[10, "seq_len"] == 10
    # the missing-summary job still reports how far it got, from metrics.csv
    assert runs.loc[9, "steps_done"] == 100


def test_failed_job_without_summary_is_failed_with_the_error_txt_line(tmp_path, sweeps):
    sweep = tmp_path / "sw"
    job = sweeps.write_job(sweep, 0, status="failed", summary=False)
    runs = load_sweeps([sweep]).runs
    assert runs.loc[0, "status"] == "failed"
    assert runs.loc[0, "error"] == "RuntimeError: boom"
    assert (job / "error.txt").exists()


def test_config_columns_are_flattened_and_typed(known_sweep):
    data = load_sweeps([known_sweep])
    runs = data.runs
    for col in ("model.name", "model.hidden_size", "optim.lr", "trainer.steps", "data.encoding"):
        assert col in data.config_columns
    assert runs["optim.lr"].dtype == "float64"
    assert pd.api.types.is_integer_dtype(runs["seq_len"])
    assert pd.api.types.is_integer_dtype(runs["trainer.steps"])
    # forget_bias exists only for the LSTM: NaN for the RNN, not a crash or a string column
    assert runs.loc[runs["model"] == "rnn", "model.forget_bias"].isna().all()
    assert (runs.loc[runs["model"] == "lstm", "model.forget_bias"] == 1.0).all()
    assert runs["final_eval_acc"].dtype == "float64"


def test_missing_config_is_filled_from_summary_then_overrides(tmp_path, sweeps):
    sweep = tmp_path / "sw"
    sweeps.write_job(sweep, 0, model="rnn", seq_len=7, lr=0.01, config=False)
    sweeps.write_job(sweep, 1, model="lstm", seq_len=9, config=False, summary=False)
    runs = load_sweeps([sweep]).runs
    assert list(runs["model"]) == ["rnn", "lstm"]
    assert list(runs["seq_len"]) == [7, 9]
    assert runs.loc[0, "optim.lr"] == 0.01 and runs.loc[0, "task"] == "palindrome"
    assert runs.loc[1, "status"] == "missing"


def test_config_from_summary_when_hydra_dir_lost_it_and_extra_results_kept(tmp_path, sweeps):
    import json

    job = sweeps.write_job(tmp_path / "sw", 0, model="rnn", seq_len=6, config=False)
    summary = json.loads((job / "summary.json").read_text())
    summary.update(config=sweeps.config_for("rnn", 6, lr=0.05), fid=12.5)
    (job / "summary.json").write_text(json.dumps(summary))
    runs = load_sweeps([tmp_path / "sw"]).runs
    assert runs.loc[0, "optim.lr"] == 0.05 and runs.loc[0, "data.eval_size"] == 2000
    assert runs.loc[0, "fid"] == 12.5 and "config" not in runs.columns


def test_curves_long_form(known_sweep):
    data = load_sweeps([known_sweep])
    curves = data.curves
    assert list(curves.columns) == ["job", "step", "metric", "value"]
    assert set(curves["metric"]) == {"train_loss", "train_acc", "eval_loss", "eval_acc", "elapsed_s"}
    one = curves[(curves["job"] == "0") & (curves["metric"] == "eval_acc")]
    assert list(one["step"]) == [25, 50, 75, 100]
    assert one["value"].iloc[-1] == pytest.approx(1.0)  # job 0: rnn T=5 seed 0, final 1.00


def test_partial_metrics_rows_are_skipped_and_reported(tmp_path, sweeps):
    sweep = tmp_path / "sw"
    job = sweeps.write_job(sweep, 0)
    with open(job / "metrics.csv", "a") as fh:
        fh.write("125,0.1,0.9,0.1\n")  # a truncated last line
        fh.write("oops,not,a,number,row,x\n")
    data = load_sweeps([sweep])
    curves = data.curves
    # the short row keeps the values it has; the garbage row is dropped
    assert list(curves.loc[curves["metric"] == "eval_loss", "step"]) == [25, 50, 75, 100, 125]
    assert list(curves.loc[curves["metric"] == "eval_acc", "step"]) == [25, 50, 75, 100]
    assert data.runs.loc[0, "problems"] == "metrics.csv: 1 malformed row(s) skipped, 1 incomplete row(s)"
    assert data.runs.loc[0, "status"] == "completed"


def test_two_sweeps_combine_with_distinct_job_keys(two_sweeps):
    data = load_sweeps([two_sweeps])
    assert len(data.sweeps) == 2 and len(data.runs) == 8
    assert data.runs["job"].is_unique
    assert data.runs["job"].iloc[0] == "2024-05-01/09-00-00-000000/0"
    assert sorted(data.runs["seq_len"].unique()) == [5, 10]
    assert set(data.curves["job"]) == set(data.runs["job"])
    assert data.sweeps[1].task_overrides == ["seq_len=10"]


def test_gan_rows_load_without_palindrome_keys(tmp_path, sweeps):
    sweep = tmp_path / "sw"
    sweeps.write_sweep(sweep, [dict(model="rnn", seq_len=5)])
    gan = sweep / "1"
    (gan / ".hydra").mkdir(parents=True)
    (gan / ".hydra" / "config.yaml").write_text("task: gan\nseed: 0\ngan:\n  latent_dim: 100\n")
    (gan / "summary.json").write_text('{"status": "completed", "task": "gan", "device": "cpu"}')
    runs = load_sweeps([sweep]).runs
    assert list(runs["task"]) == ["palindrome", "gan"]
    assert pd.isna(runs.loc[1, "seq_len"]) and runs.loc[1, "gan.latent_dim"] == 100
