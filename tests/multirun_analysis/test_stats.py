"""multirun_analysis.stats: intervals and T50 against independently computed answers."""

from __future__ import annotations

import numpy as np
import pytest

from multirun_analysis import stats
from multirun_analysis.stats import fit_t50, t50_difference, wilson_interval


def test_wilson_matches_published_values():
    # Newcombe (1998) table / textbook values for the Wilson score interval
    assert wilson_interval(5, 10) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    low, high = wilson_interval(3, 3)  # by hand: centre 0.71925, half-width 0.28075
    assert (low, high) == pytest.approx((0.43849, 1.0), abs=1e-4)
    lows, highs = wilson_interval([1, 2], [2, 0])
    assert lows[0] == pytest.approx(0.0945, abs=1e-4) and np.isnan(lows[1]) and np.isnan(highs[1])


def _logistic_sample(t50=20.0, width=3.0, lengths=range(5, 41, 5), seeds=12, rng=1):
    generator = np.random.default_rng(rng)
    t = np.repeat(np.asarray(list(lengths), dtype=float), seeds)
    solved = generator.random(t.size) < 1 / (1 + np.exp((t - t50) / width))
    return t, solved


def _brute_force_posterior_quantiles(t, solved, qs):
    """The same posterior computed independently: a finer grid, a loop over slopes, no shared code."""
    t, solved = np.asarray(t, float), np.asarray(solved, bool)
    centres = np.linspace(t.min(), t.max(), 2001)
    log_mass = np.full(centres.size, -np.inf)
    for slope in np.geomspace(0.05, 30, 121):
        p = 1 / (1 + np.exp(np.clip(slope * (t[None, :] - centres[:, None]), -700, 700)))
        p = np.clip(p, 1e-300, 1 - 1e-16)
        log_mass = np.logaddexp(log_mass, np.where(solved, np.log(p), np.log1p(-p)).sum(1))
    mass = np.exp(log_mass - log_mass.max())
    cdf = np.cumsum(mass) / mass.sum()
    return np.interp(qs, cdf, centres)


def test_estimate_and_interval_are_the_posterior_median_and_central_975_interval():
    t, solved = _logistic_sample()
    estimate = fit_t50(t, solved)
    median, low, high = _brute_force_posterior_quantiles(t, solved, [0.5, 0.0125, 0.9875])
    assert estimate.censored == "none" and estimate.n == t.size
    assert (estimate.t50, estimate.ci_low, estimate.ci_high) == pytest.approx((median, low, high), abs=0.15)
    assert estimate.ci_low < estimate.t50 < estimate.ci_high and estimate.slope < 0


def test_known_boundary_recovered_within_interval_in_most_samples():
    covered = 0
    for sample in range(40):
        t, solved = _logistic_sample(t50=20.0, seeds=8, rng=100 + sample)
        estimate = fit_t50(t, solved)
        covered += estimate.ci_low <= 20.0 <= estimate.ci_high
    assert covered >= 36  # calibrated to about 95%: 38 of 40 expected; a broken interval covers far less


def test_irregular_lengths_and_a_fixed_sample():
    t, solved = _logistic_sample(t50=23.0, lengths=[5, 7, 12, 19, 22, 24, 31, 47], seeds=10, rng=7)
    estimate = fit_t50(t, solved)
    assert estimate.ci_low <= 23.0 <= estimate.ci_high
    assert estimate.ci_high - estimate.ci_low < 12


def test_a_separated_sample_spans_the_gap_between_tested_lengths():
    # 3/3 solved at T = 10 and 20, 0/3 at 30: T50 is only known to lie in about (20, 30)
    estimate = fit_t50([10] * 3 + [20] * 3 + [30] * 3, [1] * 6 + [0] * 3)
    assert estimate.censored == "none"
    assert 20 < estimate.t50 < 30
    assert estimate.ci_low < 21 and estimate.ci_high > 29


def test_an_interval_that_reaches_the_tested_end_says_t50_may_lie_beyond_it():
    estimate = fit_t50([10, 20, 30] * 3, [1, 1, 1, 1, 1, 1, 1, 1, 0])
    assert estimate.ci_high == pytest.approx(30, abs=0.2)
    assert "may be above 30" in estimate.note


def test_censored_answers_never_invent_a_number():
    above = fit_t50([10, 20, 30], [True, True, True])
    below = fit_t50([10, 20, 30], [False, False, False])
    assert (above.censored, above.t50, above.tested_max) == ("above", None, 30)
    assert (below.censored, below.t50, below.tested_min) == ("below", None, 10)
    assert above.width == float("inf")


def test_one_tested_length_has_no_curve():
    estimate = fit_t50([10, 10, 10], [True, False, True])
    assert estimate.t50 is None and estimate.censored == "none" and "one length" in estimate.note


def test_success_that_rises_with_t_has_no_t50():
    estimate = fit_t50([10] * 3 + [20] * 3, [0, 0, 1, 1, 1, 1])
    assert estimate.t50 is None and "does not fall" in estimate.note


def test_duplicate_seed_counted_once():
    estimate = fit_t50([10, 10, 20, 20], [1, 1, 0, 0], seed=[0, 0, 0, 1])
    assert estimate.n == 3


def test_t_range_clips_the_interval():
    estimate = fit_t50([10] * 3 + [20] * 3, [1, 1, 1, 0, 0, 0], t_range=(12, 18))
    assert (estimate.ci_low, estimate.ci_high) == (12.0, 18.0)


def test_the_estimate_is_deterministic():
    t, solved = _logistic_sample(seeds=12)  # 96 runs
    assert fit_t50(t, solved) == fit_t50(t, solved)


def test_no_astronomical_estimate_from_a_single_failure():
    # 49 of 50 solved, the one failure at the longest length: the old fit said T50 = 1.7e18
    estimate = fit_t50([10] * 49 + [20], [True] * 49 + [False])
    assert 10 <= estimate.ci_low <= estimate.t50 <= estimate.ci_high <= 20


def test_t50_difference_uses_the_same_posterior_and_is_antisymmetric():
    t = [10, 15, 20, 25, 30] * 3
    a, b = [1, 1, 1, 0, 0] * 3, [1, 1, 0, 0, 0] * 3
    forward, backward = t50_difference(t, a, t, b), t50_difference(t, b, t, a)
    assert forward.estimate == pytest.approx(fit_t50(t, a).t50 - fit_t50(t, b).t50)
    assert forward.ci_low < forward.estimate < forward.ci_high
    assert (backward.ci_low, backward.ci_high) == pytest.approx((-forward.ci_high, -forward.ci_low), abs=0.1)
    same = t50_difference(t, a, t, a)
    assert same.ci_low < 0 < same.ci_high and not same.excludes_zero
    assert t50_difference(t, a, [10, 20], [True, True]) is None  # a censored T50 has no difference


def test_mismatched_lengths_refused():
    with pytest.raises(ValueError, match="differ in length"):
        fit_t50([10, 20], [True])


def test_one_run_either_side_of_a_gap_leaves_t50_wide_open():
    """Solved up to 17, failed from 20 on, one run per length (as an adaptive search tests): the
    old rule put the interval exactly on the gap (17, 20); one run each side cannot say that much."""
    estimate = fit_t50([5, 10, 15, 17, 20, 40, 80, 100], [1, 1, 1, 1, 0, 0, 0, 0])
    assert 17 <= estimate.t50 <= 20
    assert estimate.ci_low <= 15 and estimate.ci_high >= 25


def test_three_runs_either_side_of_a_gap_narrow_it():
    estimate = fit_t50([5, 10, 15, 17, 20, 40, 80, 100] * 3, [1, 1, 1, 1, 0, 0, 0, 0] * 3)
    assert 17 <= estimate.t50 <= 20
    assert estimate.ci_high - estimate.ci_low <= 8


@pytest.mark.parametrize("solved", [True, False])
def test_all_or_none_solved_stays_one_sided_at_the_tested_end(solved):
    estimate = fit_t50([5, 10, 20, 40, 80, 100] * 3, [solved] * 18)
    assert estimate.t50 is None and estimate.censored == ("above" if solved else "below")
    assert (estimate.tested_max if solved else estimate.tested_min) == (100 if solved else 5)


def _budget_design(late_lengths):
    """4 seeds at T = 10..30: T <= 15 solve at step 800, `late_lengths` at step 4000, the rest never (5000 run)."""
    lengths = np.repeat([10, 15, 20, 25, 30], 4).astype(float)
    first = np.where(lengths <= 15, 800.0, np.where(np.isin(lengths, late_lengths), 4000.0, np.nan))
    return lengths, first, np.full(lengths.size, 5000.0)


def test_t50_by_step_budget_counts_a_run_solved_once_it_first_held_the_accuracy():
    lengths, first, ran = _budget_design(late_lengths=[20, 25])
    by_budget = stats.t50_by_step_budget(lengths, first, ran, stats.step_budgets(5000))
    rows = dict(by_budget)
    assert [b for b, _ in by_budget] == [500, 1000, 2000, 5000]
    assert rows[500].censored == "below"  # nothing solved by step 500
    assert 15 <= rows[2000].t50 <= 20 and 25 <= rows[5000].t50 <= 30
    assert stats.saturated_since(by_budget) is None  # moved between 2000 and 5000 steps: not settled


def test_an_answer_reached_early_is_saturated_since_that_budget():
    lengths, first, ran = _budget_design(late_lengths=[])
    rows = stats.t50_by_step_budget(lengths, first, ran, [500, 1000, 2000, 5000])
    assert stats.saturated_since(rows) == 1000


def test_a_run_that_stopped_before_a_budget_without_solving_is_left_out_of_it():
    rows = stats.t50_by_step_budget([10, 20, 20], [100.0, np.nan, np.nan], [5000, 5000, 1000], [1000, 5000])
    assert [(b, e.n) for b, e in rows] == [(1000, 3), (5000, 2)]
