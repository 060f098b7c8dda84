"""The command and the Hydra callback on hand-built sweeps: files, report contents, every kind of folder, errors."""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from omegaconf import OmegaConf

from multirun_analysis.__main__ import main
from multirun_analysis.callback import AnalysisCallback
from tests.helpers import analysis_sweeps as sw

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def analysed(known_sweep_once):
    """The known sweep, analysed once by the command (figures included) for several tests."""
    assert main([str(known_sweep_once), "-q"]) == 0
    return known_sweep_once


def test_cli_prints_where_the_report_is(known_sweep, capsys):
    assert main([str(known_sweep), "-q", "--no-plots"]) == 0
    assert capsys.readouterr().out == f"report written to {known_sweep / 'report.html'}\n"


def test_the_three_tables_with_their_columns(analysed):
    columns = {
        "success_rate": ["model", "seq_len", "solved", "n", "rate", "ci_low", "ci_high"],
        "memory_length": ["model", "t50", "ci_low", "ci_high", "censored"],
        "paired_effect": ["seq_len", "model_a", "model_b", "mean_diff", "ci_low", "ci_high", "p_a_better", "n_pairs"],
    }
    for name, expected in columns.items():
        table = pd.read_csv(analysed / "tables" / f"{name}.csv")
        assert list(table.columns[: len(expected)]) == expected, name
    memory = pd.read_csv(analysed / "tables" / "memory_length.csv").set_index("model")
    assert memory.loc["rnn", "t50"] == pytest.approx(10.0) and memory.loc["lstm", "censored"] == "above"
    for name in ("runs.csv", "curves.csv", "accuracy.csv", "success_rate.md", "memory_length.md"):
        assert (analysed / "tables" / name).is_file(), name
    for png in ("success_rate", "learning_curves", "loss_curves"):
        data = (analysed / "plots" / f"{png}.png").read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_verdict_and_its_figure_open_the_report(analysed):
    md = (analysed / "report.md").read_text()
    verdict = md.index("**lstm** remembers longer: T50 > 15 (solved 12/12 runs at T <= 15) against rnn T50 = 10.0")
    figure = md.index("](plots/success_rate.png)")
    first_table = md.index("\n|")
    assert verdict < figure < first_table
    html = (analysed / "report.html").read_text()
    assert html.index("<img") < html.index("<table")
    assert "<strong>lstm</strong> remembers longer" in html
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(images) == 3 and base64.b64decode(images[0])[:4] == b"\x89PNG"
    assert "32 jobs planned" not in md and "24 jobs planned by 1 sweep: 24 completed." in md


def test_html_escapes_injected_markup(tmp_path):
    sweep = tmp_path / "sw"
    sw.write_job(sweep, 0, status="failed", error='<script>alert("x")</script> | <img src=x onerror=y>')
    assert main([str(sweep), "-q", "--no-plots"]) == 0
    html = (sweep / "report.html").read_text()
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html and "<img src=x" not in html
    assert "\\| <img src=x" in (sweep / "report.md").read_text()  # a pipe cannot break the Markdown table


def test_partial_sweep_counts_pending_and_running_honestly(partial_sweep):
    assert main([str(partial_sweep), "-q", "--no-plots"]) == 0
    md = (partial_sweep / "report.md").read_text()
    assert "30 jobs planned by 1 sweep: 18 completed, 2 running, 10 not started." in md
    assert "Running (progress from metrics.csv): 18 at step 4000 of 5000, 19 at step 4000 of 5000." in md
    assert "** remembers" not in md and "Tested at different lengths: rnn T = 10–30 (5 lengths); lstm T = 10." in md


def test_messy_sweep_lists_what_did_not_complete(messy_sweep):
    assert main([str(messy_sweep), "-q", "--no-plots"]) == 0
    md = (messy_sweep / "report.md").read_text()
    section = md.split("## Runs that did not complete")[1].split("## Provenance")[0]
    for status in ("failed", "diverged", "running", "missing", "corrupt"):
        assert f"| {status} " in section, status
    assert "RuntimeError: boom" in section and "no summary.json" in section
    assert "metrics.csv unreadable" in md
    assert "1 diverged or failed run(s) counted as not solved" not in md  # 2: one failed, one diverged
    assert "2 diverged or failed run(s) counted as not solved" in md


def test_combined_folder_collapses_duplicates_and_says_so(known_sweep):
    shutil.copytree(known_sweep, known_sweep.parent / "copy")
    root = known_sweep.parent
    assert main([str(root), "-q", "--no-plots"]) == 0
    md = (root / "report.md").read_text()
    assert "24 duplicate runs (same config and seed found more than once" in md and "## Duplicates" in md
    success = pd.read_csv(root / "tables" / "success_rate.csv")
    assert set(success["n"]) == {4}  # not 8: a copy is not another seed
    assert len(pd.read_csv(root / "tables" / "duplicates.csv")) == 24


def test_a_gan_sweep_gets_a_gan_report(tmp_path):
    sweep = tmp_path / "gan"
    sw.write_multirun_yaml(sweep, None, ["task=gan", "gan.latent_size=10,100", "seed=0,1"])
    for num, (latent, seed, fid) in enumerate([(10, 0, 3071.8), (10, 1, 3065.9), (100, 0, 200.0), (100, 1, 240.0)]):
        sw.write_gan_job(sweep, num, latent, seed, fid)
    assert main([str(sweep), "-q"]) == 0
    md = (sweep / "report.md").read_text()
    assert md.startswith("# Sweep analysis — DCGAN over gan.latent_size\n")
    assert "palindrome" not in md.lower() and "RNN" not in md and "optim.lr" not in md
    fixed = md.split("### gan: fixed settings")[1].split("## ")[0]
    assert "gan.latent_size" not in fixed and "| gan.lr " in fixed
    assert "`gan.latent_size`: 10, 100" in md
    assert "lowest Frechet distance 220 at gan.latent_size=100" in md
    numbers = pd.read_csv(sweep / "tables" / "gan_metrics.csv")
    assert numbers["fid_mean"].tolist() == pytest.approx([(3071.8 + 3065.9) / 2, 220.0])  # numbers, not "3.07e+03"
    assert (sweep / "plots" / "gan_gallery.png").stat().st_size > 2_000
    from multirun_analysis.runs import load_sweeps
    from multirun_analysis.sections.gan import gallery_order, gan_runs

    _, titles = gallery_order(gan_runs(load_sweeps([sweep]).runs), ["gan.latent_size"])
    assert titles == ["gan.latent_size=10, seed=0", "gan.latent_size=10, seed=1", "gan.latent_size=100, seed=0",
                      "gan.latent_size=100, seed=1"]  # fmt: skip
    assert "4 jobs planned by 1 sweep: 4 completed." in md


def test_a_folder_of_single_runs_is_reported_as_such(tmp_path):
    day = tmp_path / "outputs" / "2024-05-01"
    for i, (model, t, final) in enumerate([("rnn", 10, 1.0), ("lstm", 10, 1.0), ("lstm", 15, 1.0)]):
        sw.write_job(day, None, model=model, seq_len=t, final=final, name=f"12-00-0{i}-000000", mode="RUN")
    typo = day / "12-00-09-000000"  # a config typo: failed before any setting was known
    (typo / ".hydra").mkdir(parents=True)
    (typo / "summary.json").write_text(json.dumps({"status": "failed", "error": "ConfigError: no key stepz"}))
    assert main([str(tmp_path / "outputs"), "-q", "--no-plots"]) == 0
    md = (tmp_path / "outputs" / "report.md").read_text()
    assert md.startswith("# Analysis of a collection of single runs")
    assert "4 single runs (not one sweep): 3 completed, 1 failed." in md
    assert "ConfigError: no key stepz" in md


@pytest.mark.parametrize(
    "make_args",
    [
        lambda tmp: [str(tmp / "nothing-here")],
        lambda tmp: [str(tmp)],  # exists, but holds no sweep
        lambda tmp: [str(tmp / "a"), str(tmp / "b")],  # several paths, no --out
        lambda tmp: [str(tmp / "sw"), "--out", str(tmp / "file.txt")],  # --out is a file
        lambda tmp: [str(tmp / "sw"), "--out", str(tmp / "file.txt" / "sub")],  # --out under a file
    ],
)
def test_bad_input_exit_2_one_line(tmp_path, capsys, make_args):
    (tmp_path / "a").mkdir()
    (tmp_path / "file.txt").write_text("x")
    args = make_args(tmp_path)
    if "sw" in args[0]:
        sw.write_job(tmp_path / "sw", 0)
    assert main([*args, "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("multirun-analysis: error:"), err


def test_read_only_sweep_without_out_is_one_line(known_sweep, capsys, monkeypatch):
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == known_sweep else real_access(p, mode))
    assert main([str(known_sweep), "-q", "--no-plots"]) == 2
    (err,) = capsys.readouterr().err.strip().splitlines()
    assert "is read-only" in err and "--out DIR" in err


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only dir")
def test_read_only_sweep_for_real(known_sweep, capsys):
    known_sweep.chmod(0o555)
    try:
        assert main([str(known_sweep), "-q", "--no-plots"]) == 2
    finally:
        known_sweep.chmod(0o755)


def test_threshold_and_completed_only_options(known_sweep, tmp_path):
    assert main([str(known_sweep), "-q", "--threshold", "0.5", "--no-plots", "--out", str(tmp_path / "a")]) == 0
    success = pd.read_csv(tmp_path / "a" / "tables" / "success_rate.csv").set_index(["model", "seq_len"])
    assert success.loc[("rnn", 10), "solved"] == 4  # 0.5 and 0.6 reach 0.5
    assert not (tmp_path / "a" / "plots").exists()
    assert main([str(known_sweep), "-q", "--completed-only", "--no-plots", "--out", str(tmp_path / "b")]) == 0


def test_bad_threshold_is_a_usage_error(known_sweep):
    with pytest.raises(SystemExit) as exc:
        main([str(known_sweep), "--threshold", "2"])
    assert exc.value.code == 2


def test_callback_writes_the_report(known_sweep):
    config = OmegaConf.create({"hydra": {"sweep": {"dir": str(known_sweep)}}})
    AnalysisCallback(make_plots=False).on_multirun_end(config)
    assert "**lstm** remembers longer" in (known_sweep / "report.md").read_text()


def test_callback_logs_and_never_raises(tmp_path, caplog, monkeypatch):
    config = OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path / "missing")}}})
    with caplog.at_level(logging.WARNING, logger="multirun_analysis.callback"):
        AnalysisCallback().on_multirun_end(config)
    assert "sweep analysis skipped: no sweep found" in caplog.text and "Traceback" not in caplog.text
    AnalysisCallback().on_multirun_end(OmegaConf.create({}))  # no hydra.sweep.dir: logged too

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("multirun_analysis.pipeline.analyze", broken)
    with caplog.at_level(logging.ERROR, logger="multirun_analysis.callback"):
        AnalysisCallback().on_multirun_end(config)
    assert "sweep analysis of" in caplog.text and "failed" in caplog.text


@pytest.mark.parametrize("preset", ["quick", "rnn_vs_lstm"])
def test_presets_enable_the_callback(preset):
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base=None):
        cfg = compose("config", overrides=[f"experiment={preset}"], return_hydra_config=True)
    GlobalHydra.instance().clear()
    assert cfg.hydra.callbacks.analysis._target_ == "multirun_analysis.callback.AnalysisCallback"


def test_early_stopped_runs_end_in_a_marker(tmp_path):
    from multirun_analysis.runs import load_sweeps
    from multirun_analysis.sections.memory_figures import EARLY_STOP_MARKER, draw_curve_grid

    sweep = tmp_path / "sw"
    sw.write_job(sweep, 0, model="lstm", seq_len=10, final=1.0, steps=200, early_stopped_at=75)
    sw.write_job(sweep, 1, model="rnn", seq_len=10, final=0.3, steps=200)
    data = load_sweeps([sweep])
    fig = draw_curve_grid(data.runs, data.curves, [], "eval_acc", threshold=0.99)
    stars = [line for ax in fig.axes for line in ax.lines if line.get_marker() == EARLY_STOP_MARKER]
    assert len(stars) == 1 and list(stars[0].get_xdata()) == [75]
    assert "stopped early (solved)" in [t.get_text() for legend in fig.legends for t in legend.get_texts()]


def test_an_adaptive_search_shows_its_record_and_its_compute(tmp_path):
    sweep = tmp_path / "search"
    sw.write_multirun_yaml(sweep, None, sweeper="hydra_plugins.sweeplab_memory_sweeper.sweeper.MemoryLengthSweeper",
                           models=["rnn", "lstm"], t_min=5, t_max=20)  # fmt: skip
    rows = ["round,model,seq_len,seed,job,solved,final_eval_acc,steps_done,reason"]
    for job, (model, t, final) in enumerate([("rnn", 5, 1.0), ("rnn", 20, 0.1), ("lstm", 5, 1.0), ("lstm", 20, 1.0)]):
        sw.write_job(sweep, job, model=model, seq_len=t, final=final, steps=200, metrics_until=100)
        rows.append(f"1,{model},{t},0,{job},{final > 0.99},{final},100,gallop")
    rows.append("2,rnn,12,0,4,,,,bisect")  # chosen, not started yet
    (sweep / "search.csv").write_text("\n".join(rows) + "\n")
    assert main([str(sweep), "-q", "--no-plots"]) == 0
    md = (sweep / "report.md").read_text()
    assert "5 jobs planned by 1 sweep: 4 completed, 1 not started." in md and "An adaptive sweeper chooses" in md
    assert "search.csv: 5 probes in 2 round(s) (rnn: 3 at T = 5, 12, 20; lstm: 2 at T = 5, 20)" in md
    # the grid: 2 models x range(5, 21, 5) = 4 lengths x 3 seeds = 24 jobs of 200 steps = 4,800 steps
    assert "compute: 400 training steps in 4 jobs, against 4,800 steps in 24 jobs" in md and "(8% of it)" in md
    assert "### Search record (`search/search.csv`)" in md
