"""The command line, the written files and the Hydra callback, on sweeps written by the tests."""

from __future__ import annotations

import base64
import logging
import re
from pathlib import Path

import pandas as pd
import pytest
from omegaconf import OmegaConf

from multirun_analysis.__main__ import main
from multirun_analysis.callback import AnalysisCallback

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def analysed(tmp_path_factory, sweeps):
    """The known sweep, analysed once by the command (plots included) for several tests."""
    sweep = sweeps.write_sweep(tmp_path_factory.mktemp("analysed") / "sweep", sweeps.known_jobs(),
                        params={"model": "rnn,lstm", "seq_len": "5,10", "seed": "0,1,2"})
    assert main([str(sweep), "-q"]) == 0
    return sweep


def test_cli_prints_where_the_report_is(known_sweep, capsys):
    assert main([str(known_sweep), "-q", "--no-plots"]) == 0
    assert capsys.readouterr().out == f"report written to {known_sweep / 'report.html'}\n"


def test_cli_writes_tables_plots_and_reports(analysed):
    known_sweep = analysed
    for name in ("report.md", "report.html", "tables/runs.csv", "tables/curves.csv", "tables/stats.csv",
                 "tables/final_eval_acc.csv", "tables/final_eval_acc.md", "tables/best_eval_acc.md",
                 "tables/step_to_99.md", "tables/longest_solved.csv",
                 "plots/accuracy_vs_T.png", "plots/learning_curves.png", "plots/loss_curves.png"):
        assert (known_sweep / name).is_file(), name
    for png in (known_sweep / "plots").glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    assert not list(known_sweep.glob("*.tex")) and not list((known_sweep / "tables").glob("*.tex"))
    runs = pd.read_csv(known_sweep / "tables" / "runs.csv")
    assert len(runs) == 12 and list(runs["job_num"]) == list(range(12))
    md = (known_sweep / "tables" / "final_eval_acc.md").read_text()
    assert "| 0.600 ± 0.100 (n=3)" in md


def test_report_contents(analysed):
    md = (analysed / "report.md").read_text()
    assert "rnn: mean accuracy >= 0.99 up to T = 5 (T = 10: 0.600 ± 0.100)" in md
    assert "sweeper params: `model=rnn,lstm`; `seed=0,1,2`; `seq_len=5,10`" in md
    assert "command-line overrides: `experiment=quick`" in md
    assert "| trainer.steps" in md and "rnn: —; lstm: 1.0" in md  # fixed settings, per model
    assert "device: `cpu` (12 runs)" in md and "torch version: `2.4.0`" in md
    assert "All 12 runs completed." in md
    assert "](plots/accuracy_vs_T.png)" in md


def test_html_report_is_self_contained(analysed):
    html = (analysed / "report.html").read_text()
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(images) == 3
    assert base64.b64decode(images[0])[:4] == b"\x89PNG"
    assert 'src="plots/' not in html and "<table" in html
    assert "<strong>lstm</strong> remembers longest" in html and "<em>solved</em>" in html


def test_failed_runs_are_in_the_report(messy_sweep):
    assert main([str(messy_sweep), "-q", "--no-plots"]) == 0
    md = (messy_sweep / "report.md").read_text()
    section = md.split("## Runs that did not complete")[1].split("## Environment")[0]
    for status in ("failed", "diverged", "running", "missing", "corrupt"):
        assert f"| {status} " in section, status
    assert "RuntimeError: boom" in section and "no summary.json" in section
    assert "metrics.csv unreadable" in section  # the completed job with a corrupt metrics.csv
    assert "**5 run(s) did not complete**" in md


def test_two_sweeps_combined_with_out(two_sweeps, tmp_path):
    out = tmp_path / "combined"
    sweeps = sorted(p for p in two_sweeps.glob("*/*") if p.is_dir())
    assert main([*map(str, sweeps), "--out", str(out), "-q", "--latex", "--no-plots"]) == 0
    table = pd.read_csv(out / "tables" / "final_eval_acc.csv")
    assert list(table["T"]) == [5, 10]
    assert (out / "tables" / "final_eval_acc.tex").read_text().count("\\\\") >= 3  # header + 2 rows
    assert (out / "report.md").read_text().count("### `") == 2  # both sweeps listed
    assert not (sweeps[0] / "report.md").exists()


def test_parent_dir_is_searched(two_sweeps):
    assert main([str(two_sweeps), "-q", "--no-plots"]) == 0
    runs = pd.read_csv(two_sweeps / "tables" / "runs.csv")
    assert len(runs) == 8 and runs["sweep"].nunique() == 2


def test_threshold_option(known_sweep):
    assert main([str(known_sweep), "-q", "--threshold", "0.5", "--no-plots"]) == 0
    md = (known_sweep / "report.md").read_text()
    assert "rnn: mean accuracy >= 0.5 up to T = 10 (the longest tested)" in md
    assert not (known_sweep / "plots").exists()


@pytest.mark.parametrize("make_args", [
    lambda tmp: [str(tmp / "nothing-here")],
    lambda tmp: [str(tmp)],                                          # exists, but holds no sweep
    lambda tmp: [str(tmp / "a"), str(tmp / "b")],                    # several paths, no --out
])
def test_bad_input_exit_2_one_line(tmp_path, capsys, make_args):
    (tmp_path / "a").mkdir()
    assert main(make_args(tmp_path)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("multirun-analysis: error:"), err


def test_bad_threshold_is_a_usage_error(known_sweep):
    with pytest.raises(SystemExit) as exc:
        main([str(known_sweep), "--threshold", "2"])
    assert exc.value.code == 2


def test_callback_writes_the_report(known_sweep):
    config = OmegaConf.create({"hydra": {"sweep": {"dir": str(known_sweep)}}})
    AnalysisCallback(make_plots=False).on_multirun_end(config)
    assert "up to T = 10" in (known_sweep / "report.md").read_text()


def test_callback_logs_and_never_raises(tmp_path, caplog):
    config = OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path / "missing")}}})
    with caplog.at_level(logging.ERROR, logger="multirun_analysis.callback"):
        AnalysisCallback().on_multirun_end(config)
    assert "sweep analysis of" in caplog.text and "failed" in caplog.text
    AnalysisCallback().on_multirun_end(OmegaConf.create({}))  # no hydra.sweep.dir: logged too


@pytest.mark.parametrize("preset", ["quick", "rnn_vs_lstm"])
def test_presets_enable_the_callback(preset):
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base=None):
        cfg = compose("config", overrides=[f"experiment={preset}"], return_hydra_config=True)
    GlobalHydra.instance().clear()
    assert cfg.hydra.callbacks.analysis._target_ == "multirun_analysis.callback.AnalysisCallback"
    assert "model" in cfg.hydra.sweeper.params  # the rest of the preset is still there


def test_a_sweep_without_palindrome_results_still_reports(tmp_path):
    sweep = tmp_path / "gan"
    job = sweep / "0"
    (job / ".hydra").mkdir(parents=True)
    (job / ".hydra" / "config.yaml").write_text("task: gan\nseed: 0\n")
    (job / "summary.json").write_text('{"status": "completed", "task": "gan"}')
    (sweep / "1").mkdir()  # a job dir Hydra created but nothing wrote into
    assert main([str(sweep), "-q"]) == 0
    md = (sweep / "report.md").read_text()
    assert "No completed palindrome run" in md
    assert "1 run(s) of other tasks (gan)" in md and "| missing " in md


def test_pipes_in_errors_do_not_break_markdown_tables(tmp_path, sweeps):
    sweeps.write_job(tmp_path / "sw", 0, status="failed", error="ValueError: a | b")
    assert main([str(tmp_path / "sw"), "-q", "--no-plots"]) == 0
    assert "ValueError: a \\| b" in (tmp_path / "sw" / "report.md").read_text()
