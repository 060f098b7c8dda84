"""The palindrome section against answers worked out by hand (KNOWN_FINALS in conftest.py) or by scipy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest

from multirun_analysis import stats
from multirun_analysis.runs import load_sweeps
from multirun_analysis.sections import Options
from multirun_analysis.sections import memory as pal
from sweeplab import contract
from tests.helpers import analysis_sweeps as sw

FAST = Options(make_plots=False, n_boot=1000)


def _build(path, options=FAST):
    return pal.build_task(load_sweeps([path]), options, contract.task_spec("palindrome"))


def _cell(table, **where):
    rows = table
    for key, value in where.items():
        rows = rows[rows[key] == value]
    assert len(rows) == 1, where
    return rows.iloc[0]


def test_success_rates_with_wilson_intervals(known_sweep_once):
    table = _build(known_sweep_once).tables["success_rate"]
    assert list(table.columns) == ["model", "seq_len", "solved", "n", "rate", "ci_low", "ci_high"]
    expected = {("rnn", 5): 4, ("rnn", 10): 2, ("rnn", 15): 0, ("lstm", 5): 4, ("lstm", 10): 4, ("lstm", 15): 4}
    for (model, t), k in expected.items():
        row = _cell(table, model=model, seq_len=t)
        ci = binomtest(k, 4).proportion_ci(method="wilson")  # scipy's own Wilson interval
        assert (row["solved"], row["n"], row["rate"]) == (k, 4, k / 4)
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((ci.low, ci.high), abs=1e-4)  # z = 1.96 vs 1.95996
    assert list(table["model"]) == ["rnn"] * 3 + ["lstm"] * 3


def test_memory_length_symmetric_design_and_censored_answer(known_sweep_once):
    result = _build(known_sweep_once)
    memory = result.tables["memory_length"].set_index("model")
    assert list(result.tables["memory_length"].columns)[:5] == ["model", "t50", "ci_low", "ci_high", "censored"]
    # rnn: 4/4, 2/4, 0/4 at T = 5, 10, 15 is symmetric about 10, so the fitted T50 is 10 exactly
    assert memory.loc["rnn", "t50"] == pytest.approx(10.0, abs=1e-6) and memory.loc["rnn", "censored"] == "none"
    assert 5 <= memory.loc["rnn", "ci_low"] < 10 < memory.loc["rnn", "ci_high"] <= 15
    assert memory.loc["lstm", "censored"] == "above" and pd.isna(memory.loc["lstm", "t50"])


def test_verdict_carries_the_uncertainty(known_sweep_once):
    result = _build(known_sweep_once)
    (sentence,) = result.headline
    rnn = result.tables["memory_length"].set_index("model").loc["rnn"]
    assert sentence == (
        "**lstm** remembers longer: T50 > 15 (solved 12/12 runs at T <= 15) against "
        f"rnn T50 = 10.0 [{rnn['ci_low']:.1f}, {rnn['ci_high']:.1f}]."
    )


def test_paired_effect_by_seed_hand_computed(known_sweep_once):
    paired = _build(known_sweep_once).tables["paired_effect"]
    assert list(paired.columns[:8]) == ["seq_len", "model_a", "model_b", "mean_diff", "ci_low", "ci_high",
                                        "p_a_better", "n_pairs"]  # fmt: skip
    row = _cell(paired, seq_len=10)
    # lstm - rnn per seed: 1.0-1.0, 1.0-0.995, 0.995-0.6, 0.99-0.5 = 0, 0.005, 0.395, 0.49
    assert row["mean_diff"] == pytest.approx((0 + 0.005 + 0.395 + 0.49) / 4)
    assert row["p_a_better"] == pytest.approx(3.5 / 4)  # three wins, one tie counted half
    assert (row["model_a"], row["model_b"], row["n_pairs"]) == ("lstm", "rnn", 4)
    assert np.isnan(row["wilcoxon_p"])  # n < 6: no test printed
    assert row["ci_low"] <= row["mean_diff"] <= row["ci_high"]


def test_accuracy_mean_median_and_interval(known_sweep_once):
    acc = _build(known_sweep_once).tables["accuracy"]
    row = _cell(acc, model="rnn", seq_len=10)
    assert row["mean"] == pytest.approx((1.0 + 0.995 + 0.6 + 0.5) / 4)
    assert row["median"] == pytest.approx((0.6 + 0.995) / 2)
    assert 0.5 <= row["ci_low"] < row["mean"] < row["ci_high"] <= 1.0


def test_synthetic_logistic_boundary_recovered_within_the_interval(tmp_path):
    # 12 seeds at irregular lengths; P(solved) = 1 / (1 + exp((T - 20) / 2.5))
    rng = np.random.default_rng(5)
    lengths = [6, 11, 15, 18, 21, 24, 29, 37]
    params = {"model": ["gru"], "seq_len": lengths, "seed": list(range(12))}
    draws = {(t, s): rng.random() < 1 / (1 + np.exp((t - 20) / 2.5)) for t in lengths for s in range(12)}
    sweep = sw.write_grid_sweep(tmp_path / "logistic", params,
                                lambda p: {"final": 1.0 if draws[(p["seq_len"], p["seed"])] else 0.2})  # fmt: skip
    memory = _build(sweep).tables["memory_length"].iloc[0]
    assert memory["ci_low"] <= 20.0 <= memory["ci_high"]
    assert memory["ci_high"] - memory["ci_low"] < 8


def test_partial_sweep_makes_no_claim_from_lengths_not_tested(partial_sweep):
    result = _build(partial_sweep)
    (sentence,) = result.headline
    assert sentence.startswith("The data do not say which model remembers longer: rnn T50 = 17.5 [15.0, 20.0]")
    assert "lstm T50 > 10 (solved 3/3 runs at T <= 10)" in sentence
    assert sentence.endswith("Tested at different lengths: rnn T = 10–30 (5 lengths); lstm T = 10.")
    success = result.tables["success_rate"]
    lstm15 = _cell(success, model="lstm", seq_len=15)
    assert lstm15["n"] == 0  # two running, one not started: none counted
    md = result.markdown_tables["success_rate"].set_index("T")
    assert md.loc[15, "lstm"] == "0/0 [1 pending, 2 running]"


def test_nothing_solved_is_said_plainly_with_the_paired_difference(tmp_path):
    # the quick preset at 40 steps: nobody solves anything, but the LSTM is far ahead at T = 20 and 30
    params = {"model": ["rnn", "lstm"], "seq_len": [10, 20, 30], "seed": [0, 1, 2]}
    finals = {"rnn": {10: 0.6, 20: 0.12, 30: 0.11}, "lstm": {10: 0.5, 20: 0.6, 30: 0.55}}
    sweep = sw.write_grid_sweep(tmp_path / "quick", params,
                                lambda p: {"final": finals[p["model"]][p["seq_len"]] + 0.01 * p["seed"]})  # fmt: skip
    (sentence,) = _build(sweep).headline
    assert sentence.startswith("No model solved any tested length: rnn T50 < 10")
    assert "remembers" not in sentence
    assert "lstm − rnn = +0.48 [+0.48, +0.48] at T = 20" in sentence


def test_failed_runs_count_as_not_solved_unless_completed_only(tmp_path):
    params = {"model": ["rnn"], "seq_len": [5], "seed": [0, 1, 2]}
    sweep = sw.write_grid_sweep(tmp_path / "f", params,
                                lambda p: {"final": 1.0, "status": "failed" if p["seed"] == 2 else "completed"})  # fmt: skip
    row = _build(sweep).tables["success_rate"].iloc[0]
    assert (row["solved"], row["n"]) == (2, 3)
    row = _build(sweep, Options(make_plots=False, completed_only=True)).tables["success_rate"].iloc[0]
    assert (row["solved"], row["n"]) == (2, 2)


def test_three_models_and_an_extra_grouping_key(tmp_path):
    params = {"optim.lr": [0.001, 0.01], "model": ["rnn", "gru", "lstm"], "seq_len": [5, 10], "seed": [0, 1]}

    def outcome(p):
        good = p["optim.lr"] == 0.001 and (p["model"] != "rnn" or p["seq_len"] == 5)
        return {"final": 1.0 if good else 0.2, "lr": p["optim.lr"]}

    sweep = sw.write_grid_sweep(tmp_path / "three", params, outcome)
    result = _build(sweep)
    success = result.tables["success_rate"]
    assert list(success.columns[:2]) == ["optim.lr", "model"]
    assert list(success[success["optim.lr"] == 0.001]["model"].unique()) == ["rnn", "gru", "lstm"]
    first, second = result.headline
    assert first.startswith("optim.lr=0.001: **gru** and **lstm** remember longer than rnn (no clear difference")
    assert "gru T50 > 10" in first and "lstm T50 > 10" in first and "rnn T50 = 7.5" in first
    assert second.startswith("optim.lr=0.01: no model solved any tested length")
    pairs = result.tables["paired_effect"]
    assert set(zip(pairs["model_a"], pairs["model_b"])) == {("gru", "rnn"), ("lstm", "rnn"), ("lstm", "gru")}


def test_a_model_without_a_finished_run_is_named(tmp_path):
    params = {"model": ["rnn", "lstm"], "seq_len": [5, 10], "seed": [0, 1]}
    sweep = sw.write_grid_sweep(tmp_path / "early", params, lambda p: {"final": 1.0}, skip=range(4, 8))
    (sentence,) = _build(sweep).headline
    assert sentence == "rnn T50 > 10 (solved 4/4 runs at T <= 10). No finished run yet: lstm."


def test_t50_at_the_full_training_budget_is_the_reported_t50(known_sweep_once):
    result = _build(known_sweep_once)
    by_steps = result.tables["t50_by_steps"].set_index("model")
    memory = result.tables["memory_length"].set_index("model")
    assert list(result.tables["t50_by_steps"].columns) == ["model", *pal.BUDGET_COLUMNS[1:]]
    assert by_steps.loc["rnn", "steps"] == 100  # the runs' 100 steps: the only budget
    assert by_steps.loc["rnn", "t50"] == pytest.approx(memory.loc["rnn", "t50"])
    assert by_steps.loc["lstm", "censored"] == "above"


def _budget_frames(late_solvers: bool):
    """rnn, 4 seeds at T = 10..30 over 5000 steps: T <= 15 solve at step 800, T = 20, 25 at step 4000 when
    `late_solvers`, the rest never; the frames as load_sweeps gives them."""
    runs, curves = [], []
    for t in (10, 15, 20, 25, 30):
        for seed in range(4):
            job = f"j{t}-{seed}"
            solve = 800 if t <= 15 else (4000 if late_solvers and t in (20, 25) else None)
            runs.append({"job": job, "model": "rnn", "seq_len": t, "seed": seed, "status": "completed",
                         "final_eval_acc": 1.0 if solve else 0.5, "steps_done": solve or 5000})  # fmt: skip
            curves += [{"job": job, "step": step, "metric": "eval_acc", "value": 1.0 if solve and step >= solve else 0.5}
                       for step in range(200, (solve or 5000) + 1, 200)]  # fmt: skip
    return pd.DataFrame(runs), pd.DataFrame(curves)


@pytest.mark.parametrize("late", [True, False])
def test_memory_length_against_the_training_budget_says_whether_it_settled(late):
    runs, curves = _budget_frames(late_solvers=late)
    table, rows = pal.t50_by_steps(runs, curves, [], FAST)
    assert list(table["steps"]) == [500, 1000, 2000, 5000]
    sentence = pal.budget_sentence("rnn", rows[("rnn",)])
    if late:
        assert sentence.startswith("rnn: T50 went from 17.") and "has not settled" in sentence
    else:
        assert "unchanged since 1000 steps" in sentence


def test_no_claim_against_a_t50_whose_interval_reaches_the_tested_end():
    """lstm solved everything up to 30; rnn 3/3 up to 25 and 2/3 at 30: its T50 may be above 30 too."""
    lengths = [10, 15, 20, 25, 30] * 3
    lstm = stats.fit_t50(lengths, [True] * 15)
    rnn = stats.fit_t50(lengths, [True] * 4 + [False] + [True] * 10)
    assert rnn.open_above and "may be above 30" in rnn.note
    assert not pal.clearly_longer(lstm, rnn, None)
    clear = stats.fit_t50(lengths, [True, True, False, False, False] * 3)  # boundary well inside
    assert not clear.open_above and pal.clearly_longer(lstm, clear, None)
