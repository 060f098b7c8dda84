"""Tables against hand-computed means and sample stds (see KNOWN_FINALS in conftest.py)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from multirun_analysis import compute, load_sweeps
from multirun_analysis.tables import cell_stats, format_cell, longest_solved, varied_keys


def _cell(stats, model, t):
    row = stats[(stats["model"] == model) & (stats["seq_len"] == t)]
    assert len(row) == 1
    return row.iloc[0]


def test_final_accuracy_mean_std_n_hand_computed(known_sweep):
    stats = cell_stats(load_sweeps([known_sweep]).runs, [], "final_eval_acc")
    expected = {  # (mean, sample std) worked out by hand
        ("lstm", 5): (0.99, 0.01),
        ("lstm", 10): (0.9933333, 0.0057735),
        ("rnn", 5): (0.99, 0.0173205),
        ("rnn", 10): (0.60, 0.10),
    }
    for (model, t), (mean, std) in expected.items():
        cell = _cell(stats, model, t)
        assert cell["mean"] == pytest.approx(mean, abs=1e-6), (model, t)
        assert cell["std"] == pytest.approx(std, abs=1e-6), (model, t)
        assert cell["n"] == 3 and cell["excluded"] == ""
    assert list(stats["model"]) == ["rnn", "rnn", "lstm", "lstm"]  # rnn first, then by T


def test_best_accuracy_and_step_to_99(known_sweep):
    runs = load_sweeps([known_sweep]).runs
    best = cell_stats(runs, [], "best_eval_acc")
    assert _cell(best, "lstm", 5)["mean"] == pytest.approx((1.0 + 0.985 + 0.995) / 3)
    steps = cell_stats(runs, [], "step_to_99")
    assert _cell(steps, "lstm", 5)["mean"] == pytest.approx(75.0)
    assert _cell(steps, "lstm", 5)["std"] == pytest.approx(25.0)
    rnn5 = _cell(steps, "rnn", 5)  # 25, 50 and one seed that never reached 0.99
    assert (rnn5["n"], rnn5["n_completed"]) == (2, 3)
    assert rnn5["mean"] == pytest.approx(37.5) and rnn5["std"] == pytest.approx(math.sqrt(312.5))
    assert format_cell(rnn5, "step_to_99") == "38 ± 18 (2 of 3 reached)"
    assert format_cell(_cell(steps, "rnn", 10), "step_to_99") == "never (0 of 3 reached)"


def test_pivot_cells_are_mean_pm_std_n(known_sweep):
    analysis = compute(load_sweeps([known_sweep]))
    table = analysis.pivots["final_eval_acc"]
    assert list(table.columns) == ["T", "rnn", "lstm"]
    assert list(table["T"]) == [5, 10]
    assert table.loc[table["T"] == 10, "rnn"].item() == "0.600 ± 0.100 (n=3)"
    assert table.loc[table["T"] == 5, "lstm"].item() == "0.990 ± 0.010 (n=3)"


def test_longest_solved_and_findings(known_sweep):
    analysis = compute(load_sweeps([known_sweep]))
    solved = analysis.solved.set_index("model")
    # rnn T=5 mean is (1 + 1 + 0.97) / 3, which is 0.99 up to rounding: it counts as solved
    assert solved.loc["rnn", "longest_T"] == 5
    assert solved.loc["lstm", "longest_T"] == 10
    assert analysis.findings == [
        "rnn: mean accuracy >= 0.99 up to T = 5 (T = 10: 0.600 ± 0.100)",
        "lstm: mean accuracy >= 0.99 up to T = 10 (the longest tested)",
    ]
    assert analysis.verdicts == ["**lstm** remembers longest: it solves T = 10, against rnn: T = 5."]


@pytest.mark.parametrize("threshold, rnn, lstm", [(0.995, None, None), (0.5, 10, 10), (0.992, None, 10)])
def test_threshold_is_configurable(known_sweep, threshold, rnn, lstm):
    stats = cell_stats(load_sweeps([known_sweep]).runs, [], "final_eval_acc")
    solved = longest_solved(stats, [], threshold).set_index("model")
    got = {m: (None if pd.isna(v) else int(v)) for m, v in solved["longest_T"].items()}
    assert got == {"rnn": rnn, "lstm": lstm}
    if threshold == 0.992:  # lstm: T = 10 (0.9933) is solved but T = 5 (0.99) is not
        assert solved.loc["lstm", "unsolved_below"] == [5]


def test_unfinished_runs_are_excluded_but_counted(messy_sweep):
    analysis = compute(load_sweeps([messy_sweep]))
    table = analysis.pivots["final_eval_acc"].set_index("T")
    assert table.loc[10, "rnn"] == "— [1 diverged, 1 failed, 1 running]"
    assert table.loc[10, "lstm"] == "0.995 (n=1) [1 corrupt, 1 missing]"
    assert table.loc[5, "rnn"] == "0.900 ± 0.000 (n=3)"
    cell = _cell(analysis.stats["final_eval_acc"], "rnn", 10)
    assert (cell["n"], cell["n_runs"]) == (0, 3)


def test_extra_swept_key_becomes_a_grouping_level(lr_sweep):
    data = load_sweeps([lr_sweep])
    assert varied_keys(data.runs, data.config_columns) == ["optim.lr"]
    analysis = compute(data)
    table = analysis.pivots["final_eval_acc"]
    assert list(table.columns) == ["optim.lr", "T", "rnn", "lstm"]
    assert len(table) == 2
    assert table.loc[table["optim.lr"] == 0.001, "lstm"].item() == "1.000 ± 0.000 (n=2)"
    assert table.loc[table["optim.lr"] == 0.01, "lstm"].item() == "0.300 ± 0.000 (n=2)"
    assert "optim.lr=0.001, lstm: mean accuracy >= 0.99 up to T = 8 (the longest tested)" in analysis.findings
    assert any(f.startswith("optim.lr=0.01, lstm: mean accuracy >= 0.99 at none") for f in analysis.findings)
    assert analysis.verdicts == [  # one answer per learning rate
        "optim.lr=0.001: **lstm** remembers longest: it solves T = 8, against rnn: T = none.",
        "optim.lr=0.01: no model solves a longer palindrome than the others (rnn: T = none, lstm: T = none).",
    ]


def test_model_specific_settings_are_not_extra_keys(known_sweep):
    data = load_sweeps([known_sweep])  # forget_bias: lstm 1.0, rnn absent
    assert varied_keys(data.runs, data.config_columns) == []


def test_two_sweeps_combined_into_one_table(two_sweeps):
    analysis = compute(load_sweeps([two_sweeps]))
    table = analysis.pivots["final_eval_acc"].set_index("T")
    assert list(table.index) == [5, 10]
    assert table.loc[10, "rnn"] == "0.550 ± 0.071 (n=2)"  # seeds 0.5, 0.6
    assert table.loc[5, "lstm"] == "1.000 ± 0.000 (n=2)"


def test_gan_rows_do_not_break_palindrome_tables(known_sweep, sweeps):
    gan = known_sweep / "99"
    (gan / ".hydra").mkdir(parents=True)
    (gan / ".hydra" / "config.yaml").write_text("task: gan\nseed: 0\n")
    (gan / "summary.json").write_text('{"status": "completed", "task": "gan", "final_eval_acc": 0.0}')
    sweeps.write_job(known_sweep, 100, task="gan", model="dcgan", seq_len=0, final=0.0)
    analysis = compute(load_sweeps([known_sweep]))
    assert len(analysis.data.runs) == 14
    assert set(analysis.stats["final_eval_acc"]["model"]) == {"rnn", "lstm"}
    assert _cell(analysis.stats["final_eval_acc"], "rnn", 10)["mean"] == pytest.approx(0.6)
