"""From sweep dirs to the runs frame: discovery, statuses, planned jobs, progress, duplicates, untrusted files."""

from __future__ import annotations

import json
import os
import shutil
import time

import pandas as pd
import pytest

from multirun_analysis import read
from multirun_analysis.discover import NoSweepsFound, find_sweeps
from multirun_analysis.runs import load_sweeps
from tests.helpers import analysis_sweeps as sw


def test_find_sweeps_searches_a_parent_dir(two_sweeps):
    found = find_sweeps([two_sweeps])
    assert [p.relative_to(two_sweeps).as_posix() for p in found] == [
        "2024-05-01/09-00-00-000000",
        "2024-05-02/09-00-00-000000",
    ]


def test_no_sweep_raises_saying_why(tmp_path):
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    with pytest.raises(NoSweepsFound, match="empty holds no sweep dir"):
        load_sweeps([tmp_path / "empty"])
    with pytest.raises(NoSweepsFound, match="does-not-exist does not exist"):
        load_sweeps([tmp_path / "does-not-exist"])
    job = sw.write_job(tmp_path / "sw", 0)
    with pytest.raises(NoSweepsFound, match="is a single run, not a sweep"):
        load_sweeps([job])


def test_jobs_ordered_numerically_and_statuses_kept(messy_sweep):
    runs = load_sweeps([messy_sweep]).runs
    assert list(runs["job_num"]) == list(range(12))  # 10 and 11 after 9, not after 1
    status = dict(zip(runs["job_num"], runs["status"]))
    assert [status[i] for i in range(3, 6)] == ["failed", "diverged", "running"]
    assert [status[i] for i in range(9, 12)] == ["missing", "corrupt", "completed"]


def test_broken_jobs_keep_their_config_and_say_what_is_wrong(messy_sweep):
    runs = load_sweeps([messy_sweep]).runs.set_index("job_num")
    assert runs.loc[3, "error"] == "RuntimeError: boom"
    assert runs.loc[9, "problems"] == "no summary.json" and runs.loc[9, "model"] == "lstm"
    assert "summary.json unreadable" in runs.loc[10, "problems"] and runs.loc[10, "seq_len"] == 10
    assert "metrics.csv unreadable" in runs.loc[11, "problems"]
    assert runs.loc[9, "steps_done"] == 100  # no summary: how far it got, from metrics.csv


def test_config_columns_are_flattened_and_typed(known_sweep):
    data = load_sweeps([known_sweep])
    runs = data.runs
    for col in ("model.name", "model.hidden_size", "optim.lr", "trainer.steps", "data.encoding"):
        assert col in data.config_columns
    assert pd.api.types.is_float_dtype(runs["optim.lr"])
    assert pd.api.types.is_integer_dtype(runs["seq_len"]) and pd.api.types.is_integer_dtype(runs["trainer.steps"])
    assert runs.loc[runs["model"] == "rnn", "model.forget_bias"].isna().all()  # the RNN has none
    assert runs["final_eval_acc"].dtype == "float64"
    assert "identity" in runs and runs["identity"].notna().all()


def test_pending_jobs_come_from_the_sweeps_own_record(partial_sweep):
    data = load_sweeps([partial_sweep])
    runs = data.runs
    assert data.sweeps[0].planned == 30 and len(runs) == 30
    pending = runs[runs["status"] == "pending"]
    assert list(pending["job_num"]) == list(range(20, 30))
    # Hydra's order: model outermost, then seq_len, then seed
    assert (pending["model"] == "lstm").all()
    assert list(pending["seq_len"]) == [15] + [20] * 3 + [25] * 3 + [30] * 3
    assert list(pending["seed"]) == [2, 0, 1, 2, 0, 1, 2, 0, 1, 2]


def test_running_jobs_progress_comes_from_metrics_csv(partial_sweep):
    runs = load_sweeps([partial_sweep]).runs.set_index("job_num")
    assert runs.loc[18, "status"] == "running"
    assert runs.loc[18, "steps_done"] == 4000 and runs.loc[18, "steps"] == 5000  # the summary said 0


def test_command_line_sweep_values_are_expanded_too(tmp_path):
    # `sweeplab -m model=rnn,lstm seq_len=4,6`: the sweeper params are null, the values are task overrides
    sweep = tmp_path / "cli"
    sw.write_multirun_yaml(sweep, None, ["model=rnn,lstm", "seq_len=4,6", "trainer.steps=20"])
    sw.write_job(sweep, 0, model="rnn", seq_len=4)
    data = load_sweeps([sweep])
    assert data.sweeps[0].planned == 4
    pending = data.runs[data.runs["status"] == "pending"]
    assert list(zip(pending["model"], pending["seq_len"])) == [("rnn", 6), ("lstm", 4), ("lstm", 6)]


def test_adaptive_search_pending_probes_from_search_csv(tmp_path):
    sweep = tmp_path / "search"
    sw.write_multirun_yaml(sweep, None, sweeper="hydra_plugins.sweeplab_memory_sweeper.sweeper.MemoryLengthSweeper")
    sw.write_job(sweep, 0, model="rnn", seq_len=5, final=1.0)
    (sweep / "search.csv").write_text(
        "round,model,seq_len,seed,job,solved,reason\n"
        "1,rnn,5,0,0,True,gallop\n1,rnn,10,0,1,,gallop\n1,lstm,5,0,2,,gallop\n"
    )
    data = load_sweeps([sweep])
    pending = data.runs[data.runs["status"] == "pending"]
    assert list(zip(pending["model"], pending["seq_len"], pending["job_num"])) == [("rnn", 10, 1), ("lstm", 5, 2)]
    assert data.sweeps[0].adaptive and data.sweeps[0].planned == 3


def test_the_same_runs_in_two_sweeps_count_once(tmp_path, known_sweep):
    root = known_sweep.parent
    copy = root / "10-00-00-copy"
    shutil.copytree(known_sweep, copy)
    (copy / "0" / "summary.json").write_text(
        json.dumps({"status": "failed", "error": "x", "config": sw.config_for("rnn", 5, 0)})
    )  # the copy of job 0 failed: the completed original is kept
    data = load_sweeps([root])
    assert len(data.runs) == 24 and len(data.duplicates) == 24
    kept = data.runs[(data.runs["model"] == "rnn") & (data.runs["seq_len"] == 5) & (data.runs["seed"] == 0)]
    assert list(kept["status"]) == ["completed"]
    assert set(data.curves["job"]) <= set(data.runs["job"])


def test_duplicates_ignore_execution_only_settings_but_not_results_settings(tmp_path):
    sweep = tmp_path / "sw"
    sw.write_job(sweep, 0, model="rnn", seq_len=5, num_threads=1)
    sw.write_job(sweep, 1, model="rnn", seq_len=5, num_threads=2, eval_every=50, final=0.7)  # same run, other code?
    sw.write_job(sweep, 2, model="rnn", seq_len=5, lr=0.01)  # another run
    data = load_sweeps([sweep])
    assert list(data.runs["job"]) == ["0", "2"]
    assert data.duplicates[["job", "kept", "same_result"]].values.tolist() == [["1", "0", "no (0.7 vs 0.5)"]]


def test_a_folder_of_single_runs_is_recognised(tmp_path):
    day = tmp_path / "outputs" / "2024-05-01"
    for i, (model, t) in enumerate([("rnn", 10), ("lstm", 10), ("lstm", 15)]):
        sw.write_job(day, None, model=model, seq_len=t, name=f"12-00-0{i}-000000", mode="RUN", final=1.0)
    data = load_sweeps([tmp_path / "outputs"])
    assert [s.kind for s in data.sweeps] == ["single runs"] and data.single_runs
    assert data.sweeps[0].planned is None and len(data.runs) == 3


def test_an_unreadable_job_dir_is_skipped_and_listed(known_sweep, monkeypatch):
    blocked = str(known_sweep / "3")
    real_listdir = os.listdir

    def listdir(path):
        if str(path) == blocked:
            raise PermissionError(13, "Permission denied", blocked)
        return real_listdir(path)

    monkeypatch.setattr(os, "listdir", listdir)
    data = load_sweeps([known_sweep])
    assert [(p.name, why) for p, why in data.sweeps[0].unreadable] == [("3", "unreadable (Permission denied)")]
    assert 3 not in set(data.runs.loc[data.runs["status"] != "pending", "job_num"])


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a dir without read permission")
def test_an_unreadable_job_dir_is_skipped_for_real(known_sweep):
    (known_sweep / "3").chmod(0)
    try:
        data = load_sweeps([known_sweep])
    finally:
        (known_sweep / "3").chmod(0o755)
    assert [p.name for p, _ in data.sweeps[0].unreadable] == ["3"]


BILLION_LAUGHS = "\n".join(
    ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 9) + "]" for i in range(8)]
)


def test_a_billion_laughs_config_is_refused_quickly(tmp_path):
    job = sw.write_job(tmp_path / "sw", 0, model="rnn", seq_len=5, final=1.0)
    (job / ".hydra" / "config.yaml").write_text(BILLION_LAUGHS)
    value, problem = read.read_yaml(job / ".hydra" / "config.yaml")
    assert value is None and "nodes once its aliases are expanded" in problem
    start = time.perf_counter()
    runs = load_sweeps([tmp_path / "sw"]).runs
    assert time.perf_counter() - start < 5
    assert runs.loc[0, "model"] == "rnn"  # the summary's resolved config still tells what ran
    (job / ".hydra" / "overrides.yaml").write_text("x" * (read.MAX_YAML_BYTES + 1))
    assert "larger than" in read.read_yaml(job / ".hydra" / "overrides.yaml")[1]


def test_a_few_aliases_are_fine(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("base: &b {lr: 0.1}\nother: *b\n")
    assert read.read_yaml(path) == ({"base": {"lr": 0.1}, "other": {"lr": 0.1}}, None)


def test_provenance_is_read_and_optional(tmp_path):
    sweep = tmp_path / "sw"
    provenance = {"git_commit": "abc123", "git_dirty": False, "sweeplab": "0.1.0", "torch": "2.4.0",
                  "python": "3.11.9", "device": "cpu"}  # fmt: skip
    sw.write_job(sweep, 0, model="rnn", seq_len=5, provenance=provenance)
    sw.write_job(sweep, 1, model="lstm", seq_len=5)  # an older run: no provenance
    runs = load_sweeps([sweep]).runs
    assert runs.loc[0, "provenance.git_commit"] == "abc123" and pd.isna(runs.loc[1, "provenance.git_commit"])


def test_gan_rows_get_no_palindrome_settings(tmp_path):
    sweep = tmp_path / "gan"
    sw.write_gan_job(sweep, 0, 10, 0, 300.0)
    runs = load_sweeps([sweep]).runs
    assert runs.loc[0, "gan.lr"] == 2e-4 and "optim.lr" not in runs.columns  # summary's "lr" is no optim.lr
    assert runs.loc[0, "task"] == "gan" and pd.isna(runs.loc[0, "model"])


def test_overrides_parsed_by_hydra():
    values = read.override_values(["model=lstm", "+trainer.extra=3", "optim.lr=1e-3", "hydra.run.dir=x",
                                   "experiment=quick", "~data.x", "seq_len=5,10", "bad=("])  # fmt: skip
    assert values == {"model.name": "lstm", "trainer.extra": 3, "optim.lr": 0.001}


REFUSED = "ConfigError: seq_len='abc' is not allowed; it must be an integer >= 2 (the palindrome length T)"


@pytest.mark.parametrize("kind", ["sweep", "single runs"])
def test_a_job_refused_for_its_settings_is_listed_failed_with_its_reason_and_the_rest_reported(tmp_path, kind):
    """Issue 20 §3: seq_len=abc (recorded by a sweep or a single run before the refusal came first)
    once crashed the report at the Int64 cast of seq_len."""
    from multirun_analysis.__main__ import main

    where = tmp_path / "S"
    mode = "MULTIRUN" if kind == "sweep" else "RUN"
    for num, model in enumerate(["rnn", "lstm"]):
        sw.write_job(
            where, num, model=model, seq_len=5, final=1.0, mode=mode, name=None if mode == "MULTIRUN" else f"run{num}"
        )
    sw.write_job(where, 2, seq_len="abc", status="failed", error=REFUSED, metrics_until=0, mode=mode,
                 name=None if mode == "MULTIRUN" else "refused")  # fmt: skip
    if kind == "sweep":
        sw.write_multirun_yaml(where, {"model": "rnn,lstm", "seq_len": "5,abc"})
    assert main([str(where), "--no-plots", "--quiet"]) == 0
    report = (where / "report.md").read_text()
    not_done = report.split("## Runs that did not complete")[1].split("##")[0]
    assert "failed" in not_done and REFUSED in not_done
    assert "T50" in report and "rnn" in report and "lstm" in report  # the two good runs are reported


def test_a_gan_sweep_without_a_clear_difference_says_so_and_its_run_table_has_no_palindrome_columns(tmp_path):
    """Issue 20: 1071 vs 1078 at n = 2 was called the "lowest Frechet distance"."""
    from multirun_analysis.__main__ import main

    sweep = tmp_path / "gan"
    sw.write_multirun_yaml(sweep, None, ["task=gan", "gan.latent_size=10,100", "seed=0,1"])
    for num, (latent, seed, fid) in enumerate([(10, 0, 1060.0), (10, 1, 1096.0), (100, 0, 1071.0), (100, 1, 1071.0)]):
        sw.write_gan_job(sweep, num, latent, seed, fid)
    assert main([str(sweep), "-q", "--no-plots"]) == 0
    md = (sweep / "report.md").read_text()
    assert "no clear difference in Frechet distance between the 2 settings" in md
    assert "lowest Frechet distance" not in md
    all_runs = md.split("## All runs")[1].split("##")[0]
    header = all_runs.strip().splitlines()[0]
    assert "seed" in header and not {"model", "seq_len", "final_eval_acc"} & {c.strip() for c in header.split("|")}
