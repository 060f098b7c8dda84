"""multirun_analysis.stats: intervals and T50 against independently computed answers."""

from __future__ import annotations

import time

import numpy as np
import pytest
from scipy.optimize import minimize

from multirun_analysis.stats import fit_t50, wilson_interval


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


def test_point_estimate_is_the_maximum_likelihood_fit():
    t, solved = _logistic_sample()

    def nll(b):
        eta = b[0] + b[1] * t
        return np.sum(np.logaddexp(0, eta) - solved * eta)

    b = minimize(
        nll,
        [0.0, 0.0],
        method="Nelder-Mead",
        options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 5000},
    ).x
    estimate = fit_t50(t, solved)
    assert estimate.censored == "none" and estimate.n == t.size
    assert estimate.t50 == pytest.approx(-b[0] / b[1], abs=0.02)
    assert estimate.ci_low < estimate.t50 < estimate.ci_high


def test_known_boundary_recovered_within_interval_in_most_samples():
    covered = 0
    for sample in range(40):
        t, solved = _logistic_sample(t50=20.0, seeds=8, rng=100 + sample)
        estimate = fit_t50(t, solved, rng=sample)
        covered += estimate.ci_low <= 20.0 <= estimate.ci_high
    assert covered >= 34  # nominal 95%: 38 of 40 expected; a broken interval covers far less


def test_irregular_lengths_and_a_fixed_sample():
    t, solved = _logistic_sample(t50=23.0, lengths=[5, 7, 12, 19, 22, 24, 31, 47], seeds=10, rng=7)
    estimate = fit_t50(t, solved)
    assert estimate.ci_low <= 23.0 <= estimate.ci_high
    assert estimate.ci_high - estimate.ci_low < 12


def test_separated_sample_spans_the_gap_between_tested_lengths():
    # 3/3 solved at T = 10 and 20, 0/3 at 30: T50 is only known to lie in (20, 30)
    estimate = fit_t50([10] * 3 + [20] * 3 + [30] * 3, [1] * 6 + [0] * 3)
    assert estimate.censored == "none"
    assert 20 < estimate.t50 < 30
    assert (estimate.ci_low, estimate.ci_high) == (20.0, 30.0)


def test_censored_answers_never_invent_a_number():
    above = fit_t50([10, 20, 30], [True, True, True])
    below = fit_t50([10, 20, 30], [False, False, False])
    assert (above.censored, above.t50, above.tested_max) == ("above", None, 30)
    assert (below.censored, below.t50, below.tested_min) == ("below", None, 10)
    assert above.width == float("inf")


def test_one_tested_length_has_no_curve():
    estimate = fit_t50([10, 10, 10], [True, False, True])
    assert estimate.t50 is None and estimate.censored == "none" and "one length" in estimate.note


def test_duplicate_seed_counted_once():
    estimate = fit_t50([10, 10, 20, 20], [1, 1, 0, 0], seed=[0, 0, 0, 1])
    assert estimate.n == 3


def test_t_range_clips_the_interval():
    estimate = fit_t50([10] * 3 + [20] * 3, [1, 1, 1, 0, 0, 0], t_range=(12, 18))
    assert (estimate.ci_low, estimate.ci_high) == (12.0, 18.0)


def test_bootstrap_is_reproducible_and_fast():
    t, solved = _logistic_sample(seeds=12)  # 96 runs
    start = time.perf_counter()
    first = fit_t50(t, solved, n_boot=1000, rng=3)
    elapsed = time.perf_counter() - start
    assert first == fit_t50(t, solved, n_boot=1000, rng=3)
    assert elapsed < 0.5


def test_mismatched_lengths_refused():
    with pytest.raises(ValueError, match="differ in length"):
        fit_t50([10, 20], [True])


def test_a_clean_separation_keeps_t50_in_the_gap_the_data_leave():
    """Solved up to 17, failed from 20 on, with far-off lengths tested (as an adaptive search does):
    the ridge-damped slope alone put T50 at 20.7; the data only allow (17, 20)."""
    estimate = fit_t50([5, 10, 15, 17, 20, 40, 80, 100], [1, 1, 1, 1, 0, 0, 0, 0])
    assert 17 <= estimate.t50 <= 20
    assert (estimate.ci_low, estimate.ci_high) == (17, 20)
