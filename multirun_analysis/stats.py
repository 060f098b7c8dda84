"""Statistics with their uncertainty: success rates, memory length (T50), paired effects.

Torch-free (numpy, pandas-free at this level, scipy only where named): the adaptive sweeper calls
`fit_t50` every round, so its grid posterior is vectorised and takes milliseconds.
docs/ANALYSIS.md explains each statistic with its reference.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)

#: ridge penalty on the logistic slope (in standardised-T units): a perfectly separated sample has
#: no finite maximum-likelihood slope; this tiny penalty keeps it finite (slope ~5 for 3 seeds per
#: side, i.e. a boundary sharper than the grid can resolve) and is negligible otherwise
RIDGE = 0.01
NEWTON_ITERATIONS = 100
MAX_NEWTON_STEP = 3.0  # damping: Newton from zero overshoots on (nearly) separated data

NONE, ABOVE, BELOW = "none", "above", "below"  # T50Estimate.censored


@dataclass(frozen=True)
class T50Estimate:
    """The length T at which half the runs solve, with its interval (the central CREDIBLE_MASS credible
    interval of a grid posterior, measured to cover T50 in about 95% of simulated sweeps).

    `censored` is "above" when every tested length was solved (T50 > tested_max) and "below" when
    none was (T50 < tested_min); then t50 and the interval are None. Estimate and interval lie within
    the tested lengths; `note` says when the interval reaches a tested end (T50 may lie beyond).
    """

    t50: float | None
    ci_low: float | None
    ci_high: float | None
    censored: str
    tested_min: int
    tested_max: int
    n: int
    #: why t50 is None although not censored, or that it lies outside the tested lengths
    note: str = ""
    #: the fitted curve P(solved | T) = 1 / (1 + exp(-(intercept + slope * T))), when there is one
    intercept: float | None = None
    slope: float | None = None
    #: the interval reaches the longest (shortest) tested length: the prior stops there, the data may not
    open_above: bool = False
    open_below: bool = False

    @property
    def width(self) -> float:
        """The interval's width (inf when unbounded or not estimable): the sweeper's stopping rule."""
        if self.ci_low is None or self.ci_high is None:
            return math.inf
        return self.ci_high - self.ci_low


def wilson_interval(k, n, z: float = 1.96):
    """Wilson (1927) score interval of a binomial proportion k/n; (nan, nan) where n == 0.

    Takes scalars (returns two floats) or arrays (returns two arrays).
    """
    k_arr, n_arr = np.asarray(k, dtype=float), np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k_arr / n_arr
        denom = 1 + z**2 / n_arr
        centre = (p + z**2 / (2 * n_arr)) / denom
        half = z * np.sqrt(p * (1 - p) / n_arr + z**2 / (4 * n_arr**2)) / denom
        low, high = np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)
    low, high = np.where(n_arr > 0, low, np.nan), np.where(n_arr > 0, high, np.nan)
    if low.ndim == 0:
        return float(low), float(high)
    return low, high


#: The T50 interval is a grid posterior (psignifit's idea, Schütt et al. 2016, on a fixed grid): the
#: curve P(solved | T) = 1 / (1 + exp(s (T - T50))) with T50 uniform over the tested lengths and the
#: slope s log-uniform on SLOPE_PRIOR per unit T, runs independent given the curve.
SLOPE_PRIOR = (0.05, 30.0)
T50_CELLS, SLOPE_CELLS = 400, 60
#: the central credible mass reported as T50's "95% interval": the calibration study
#: (python -m multirun_analysis.calibration, table in docs/ANALYSIS.md) measured the 95% credible
#: interval below 95% coverage on shallow boundaries; the 97.5% one reaches it
CREDIBLE_MASS = 0.975
TAIL = (1 - CREDIBLE_MASS) / 2
#: a point estimate T50 (posterior median) whose interval touches the tested end within this many
#: grid cells is said to be bounded by the prior, not by the data
EDGE_CELLS = 2


@dataclass(frozen=True)
class T50Posterior:
    """T50's marginal posterior on a grid of cells (centres and masses), and the slope's."""

    t50: np.ndarray
    t50_mass: np.ndarray
    low: float  # the grid's ends: the tested lengths
    high: float
    slope: np.ndarray
    slope_mass: np.ndarray

    def quantile(self, q) -> np.ndarray:
        edges = np.linspace(self.low, self.high, len(self.t50) + 1)
        cdf = np.concatenate([[0.0], np.cumsum(self.t50_mass)])
        return np.interp(q, cdf, edges)


def t50_posterior(lengths: np.ndarray, outcome: np.ndarray) -> T50Posterior:
    """The grid posterior of (T50, slope) given runs at two or more lengths, marginalised each way.

    Vectorised over the T50 x slope grid (about 5 ms for 20 lengths): the search calls it every round.
    """
    unique_t, index = np.unique(lengths, return_inverse=True)
    trials = np.bincount(index, minlength=len(unique_t)).astype(float)
    successes = np.bincount(index, weights=outcome.astype(float), minlength=len(unique_t))
    low, high = float(unique_t[0]), float(unique_t[-1])
    t50 = low + (np.arange(T50_CELLS) + 0.5) * (high - low) / T50_CELLS
    slope = np.geomspace(*SLOPE_PRIOR, SLOPE_CELLS)  # equal weights: log-uniform
    x = slope[None, :, None] * (unique_t[None, None, :] - t50[:, None, None])
    # log P(solved) = -log(1 + e^x), log P(failed) = -log(1 + e^-x)
    loglik = -(successes * np.logaddexp(0, x) + (trials - successes) * np.logaddexp(0, -x)).sum(-1)
    joint = np.exp(loglik - loglik.max())
    joint /= joint.sum()
    return T50Posterior(t50, joint.sum(1), low, high, slope, joint.sum(0))


def _falls_with_t(lengths: np.ndarray, outcome: np.ndarray) -> bool:
    """Whether the (ridge-penalised, maximum-likelihood) logistic slope is negative: success falls with T."""
    unique_t, index = np.unique(lengths, return_inverse=True)
    trials = np.bincount(index, minlength=len(unique_t)).astype(float)
    successes = np.bincount(index, weights=outcome.astype(float), minlength=len(unique_t))
    z = (unique_t - lengths.mean()) / (lengths.std() or 1.0)
    _, b1 = _logistic_fits(z, trials, successes[None, :])
    return bool(b1[0] < 0)


def _logistic_fits(z: np.ndarray, trials: np.ndarray, successes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ridge-penalised logistic fits of successes/trials ~ b0 + b1*z, one per row of `successes`.

    z: (J,) standardised lengths, trials: (J,), successes: (B, J). Damped Newton on the 2x2
    system, vectorised over the B rows. Returns (b0, b1), each (B,).
    """
    b = np.zeros((successes.shape[0], 2))
    for _ in range(NEWTON_ITERATIONS):
        p = 1 / (1 + np.exp(-(b[:, :1] + b[:, 1:] * z)))
        residual = successes - trials * p
        w = trials * p * (1 - p)
        g0 = residual.sum(1)
        g1 = (residual * z).sum(1) - RIDGE * b[:, 1]
        h00, h01, h11 = w.sum(1), (w * z).sum(1), (w * z * z).sum(1) + RIDGE
        det = h00 * h11 - h01 * h01
        step = np.stack([(h11 * g0 - h01 * g1) / det, (h00 * g1 - h01 * g0) / det], axis=1)
        size = np.abs(step).max(1, keepdims=True)
        step *= np.minimum(1.0, MAX_NEWTON_STEP / np.maximum(size, 1e-300))
        b += step
        if size.max() < 1e-10:
            break
    return b[:, 0], b[:, 1]


def _runs(seq_len, solved, seed) -> tuple[np.ndarray, np.ndarray]:
    """Validated (lengths, outcomes), a (T, seed) pair seen twice counted once."""
    lengths = np.asarray(seq_len, dtype=float).ravel()
    outcome = np.asarray(solved, dtype=bool).ravel()
    if lengths.shape != outcome.shape:
        raise ValueError(f"seq_len and solved differ in length ({lengths.size} vs {outcome.size})")
    if seed is not None:
        seeds = np.asarray(seed).ravel()
        if seeds.shape != lengths.shape:
            raise ValueError(f"seed and seq_len differ in length ({seeds.size} vs {lengths.size})")
        _, first = np.unique(np.stack([lengths, seeds.astype(float)], axis=1), axis=0, return_index=True)
        if len(first) < len(lengths):
            log.warning("fit_t50: %d duplicate (seq_len, seed) runs counted once", len(lengths) - len(first))
            keep = np.sort(first)
            lengths, outcome = lengths[keep], outcome[keep]
    if lengths.size == 0:
        raise ValueError("fit_t50 needs at least one run")
    if not np.isfinite(lengths).all():
        raise ValueError("seq_len holds a missing or non-finite value")
    return lengths, outcome


def _fit(lengths: np.ndarray, outcome: np.ndarray, t_range) -> tuple[T50Estimate, T50Posterior | None]:
    """The estimate and the posterior it came from (None when censored or not estimable)."""
    common = {"tested_min": int(lengths.min()), "tested_max": int(lengths.max()), "n": int(lengths.size)}
    if outcome.all():
        return T50Estimate(None, None, None, ABOVE, **common), None
    if not outcome.any():
        return T50Estimate(None, None, None, BELOW, **common), None
    if np.unique(lengths).size == 1:
        return T50Estimate(None, None, None, NONE, **common, note="one length tested: no curve to fit"), None
    if not _falls_with_t(lengths, outcome):
        return T50Estimate(None, None, None, NONE, **common, note="success does not fall with T: no T50"), None
    posterior = t50_posterior(lengths, outcome)
    point, low, high = (float(v) for v in posterior.quantile([0.5, TAIL, 1 - TAIL]))
    low, high = _closed_at_tested(
        low, high, np.unique(lengths), EDGE_CELLS * (posterior.high - posterior.low) / T50_CELLS
    )
    if t_range is not None:
        lo, hi = float(t_range[0]), float(t_range[1])
        point, low, high = (float(np.clip(v, lo, hi)) for v in (point, low, high))
    cell = (posterior.high - posterior.low) / T50_CELLS
    open_below, open_above = low <= posterior.low + EDGE_CELLS * cell, high >= posterior.high - EDGE_CELLS * cell
    ends = [f"T50 may be below {common['tested_min']}"] * open_below + [
        f"T50 may be above {common['tested_max']}"
    ] * open_above
    note = f"interval reaches the tested end: {', '.join(ends)}" if ends else ""
    slope = float(np.exp(np.sum(np.log(posterior.slope) * posterior.slope_mass)))  # posterior geometric mean
    curve = {"intercept": slope * point, "slope": -slope, "open_above": open_above, "open_below": open_below}
    return T50Estimate(point, low, high, NONE, **common, note=note, **curve), posterior


def _closed_at_tested(low: float, high: float, tested: np.ndarray, margin: float) -> tuple[float, float]:
    """Interval ends within `margin` inside a tested length are moved onto it.

    A clean gap (3/3 solved at 20, 0/3 at 25) puts nearly all the mass strictly inside (20, 25), so
    the quantiles land a hair inside it; but T50 = 20 itself gives 3/3 at 20 one time in eight. The
    calibration study measured 77% coverage for a true T50 on a tested length without this rule."""
    below, above = tested[tested <= low], tested[tested >= high]
    if below.size and low - below[-1] <= margin:
        low = float(below[-1])
    if above.size and above[0] - high <= margin:
        high = float(above[0])
    return low, high


def fit_t50(seq_len, solved, seed=None, *, t_range=None) -> T50Estimate:
    """Memory length: T50, the length at which half the runs solve, with its interval.

    seq_len, solved (bool) and seed are equal-length array-likes, one entry per run. When seeds
    are given, a (T, seed) pair seen twice is one run (the first is kept, a warning is logged).
    T50 is the posterior median of the grid posterior (`t50_posterior`) and the interval its central
    CREDIBLE_MASS credible interval, whose coverage the calibration study measured. Both stay
    within the tested lengths. `t_range=(lo, hi)` clips the estimate and interval ends to the lengths
    a T50 may take (e.g. a search's bounds); by default nothing is clipped.
    """
    lengths, outcome = _runs(seq_len, solved, seed)
    return _fit(lengths, outcome, t_range)[0]


@dataclass(frozen=True)
class Difference:
    """An estimated difference with its interval."""

    estimate: float
    ci_low: float
    ci_high: float

    @property
    def excludes_zero(self) -> bool:
        return self.ci_low > 0 or self.ci_high < 0


def t50_difference(seq_len_a, solved_a, seq_len_b, solved_b) -> Difference | None:
    """T50(a) - T50(b): the difference of the point estimates, and the central CREDIBLE_MASS interval
    of the difference of the two grid posteriors taken as independent.

    None unless both T50 are estimable (neither censored nor undefined). Runs of the two models that
    share a seed may be correlated; independence is assumed, as for the runs of one model.
    """
    a, post_a = _fit(*_runs(seq_len_a, solved_a, None), None)
    b, post_b = _fit(*_runs(seq_len_b, solved_b, None), None)
    if post_a is None or post_b is None:
        return None
    low, high = difference_interval(post_a, post_b)
    return Difference(a.t50 - b.t50, low, high)


def difference_interval(a: T50Posterior, b: T50Posterior) -> tuple[float, float]:
    """The central CREDIBLE_MASS interval of T50(a) - T50(b), the posteriors taken as independent."""
    # thin each marginal to 200 cells (pairs: 40,000) by merging neighbours; then the exact mixture
    merge = max(1, T50_CELLS // 200)
    ta, ma = a.t50.reshape(-1, merge).mean(1), a.t50_mass.reshape(-1, merge).sum(1)
    tb, mb = b.t50.reshape(-1, merge).mean(1), b.t50_mass.reshape(-1, merge).sum(1)
    diffs = (ta[:, None] - tb[None, :]).ravel()
    mass = (ma[:, None] * mb[None, :]).ravel()
    order = np.argsort(diffs, kind="stable")
    low, high = np.interp([TAIL, 1 - TAIL], np.cumsum(mass[order]), diffs[order])
    return float(low), float(high)


def bootstrap_mean_interval(values, *, n_boot: int = 2000, rng=0) -> tuple[float, float]:
    """95% percentile-bootstrap interval of the mean (Efron 1979); (nan, nan) below two values."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if x.size < 2:
        return math.nan, math.nan
    generator = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    means = x[generator.integers(0, x.size, size=(n_boot, x.size))].mean(axis=1)
    return float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))


#: with fewer pairs no two-sided signed-rank test can reach p < 0.05 (n = 5: the smallest p is 1/16)
MIN_PAIRS_FOR_A_TEST = 6


@dataclass(frozen=True)
class PairedEffect:
    """a - b over runs paired by seed: the mean difference, its interval, and P(a > b)."""

    mean_diff: float
    ci_low: float
    ci_high: float
    p_a_better: float  # probability of improvement (ties count half): Agarwal et al. 2021
    n_pairs: int
    wilcoxon_p: float  # nan with fewer than MIN_PAIRS_FOR_A_TEST pairs


def paired_effect(a, b, *, n_boot: int = 2000, rng=0) -> PairedEffect:
    """Paired differences a - b (equal-length arrays, one entry per seed), resampling the pairs."""
    from scipy.stats import wilcoxon

    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired_effect needs equal-length arrays ({a.size} vs {b.size})")
    keep = ~(np.isnan(a) | np.isnan(b))
    diffs = a[keep] - b[keep]
    n = int(diffs.size)
    if n == 0:
        return PairedEffect(math.nan, math.nan, math.nan, math.nan, 0, math.nan)
    low, high = bootstrap_mean_interval(diffs, n_boot=n_boot, rng=rng)
    p_better = float(np.mean((diffs > 0) + 0.5 * (diffs == 0)))
    p_value = math.nan
    if n >= MIN_PAIRS_FOR_A_TEST:
        p_value = 1.0 if not np.any(diffs) else float(wilcoxon(diffs).pvalue)
    return PairedEffect(float(diffs.mean()), low, high, p_better, n, p_value)


#: what the report says its T50 interval is, and its measured coverage (docs/ANALYSIS.md)
METHOD_NOTE = (
    "a logistic curve of solved against T over every counted run; T50 is its posterior median and the interval "
    "the central 97.5% credible interval of a grid posterior (T50 uniform over the tested lengths, slope "
    "log-uniform on 0.05-30 per unit T, runs taken as independent). The wider credible level is used because "
    "it is what reaches 95% coverage: in simulated sweeps (`python -m multirun_analysis.calibration`) it covered "
    "the true T50 in 93.8-100% of grid sweeps and 91-100% of adaptive searches per cell, the plain 95% credible "
    "interval in as few as 86%."
)


#: the training budgets (steps) at which T50 is estimated again: those below the longest run's steps
STEP_BUDGETS = (500, 1000, 2000, 5000, 10_000, 20_000, 50_000, 100_000)


def step_budgets(longest: int) -> list[int]:
    """STEP_BUDGETS below `longest`, then `longest` itself."""
    return [b for b in STEP_BUDGETS if b < longest] + [int(longest)]


def t50_by_step_budget(seq_len, first_solved_step, steps_run, budgets) -> list[tuple[int, T50Estimate]]:
    """T50 as if every run had been trained for at most B steps, for each budget B.

    One entry per run: its length, the first step at which it held the solved accuracy (nan: never)
    and the steps it ran (inf for a run that counts as failed whatever its budget: diverged, failed).
    At budget B a run solved when it first held the accuracy by step B; it failed when it ran B steps
    (or counts as failed) without; a run that stopped before B without solving says nothing about B
    and is left out. Budgets where no run is left are skipped.
    """
    lengths = np.asarray(seq_len, dtype=float)
    first = np.asarray(first_solved_step, dtype=float)
    ran = np.asarray(steps_run, dtype=float)
    results = []
    for budget in budgets:
        solved = first <= budget  # nan compares False
        known = solved | (ran >= budget)
        if known.any():
            results.append((int(budget), fit_t50(lengths[known], solved[known])))
    return results


def saturated_since(by_budget: list[tuple[int, T50Estimate]]) -> int | None:
    """The smallest budget from which every T50 agrees with the largest budget's answer, or None when
    the answer at the largest budget differs from the one before it (it has not settled yet).

    Agrees: the same censored answer, or a T50 inside the largest budget's interval."""
    if len(by_budget) < 2:
        return None
    final = by_budget[-1][1]

    def agrees(estimate: T50Estimate) -> bool:
        if final.t50 is None or estimate.t50 is None:
            return estimate.censored == final.censored and estimate.t50 is None and final.t50 is None
        return final.ci_low <= estimate.t50 <= final.ci_high

    since = len(by_budget) - 1
    while since > 0 and agrees(by_budget[since - 1][1]):
        since -= 1
    return by_budget[since][0] if since < len(by_budget) - 1 else None
