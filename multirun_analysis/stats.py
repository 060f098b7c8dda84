"""Statistics with their uncertainty: success rates, memory length (T50), paired effects.

Torch-free (numpy, pandas-free at this level, scipy only where named): the adaptive sweeper imports
`fit_t50` every round, so it is vectorised over bootstrap replicates and takes milliseconds.
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
    """The length T at which half the runs solve, with a 95% bootstrap interval.

    `censored` is "above" when every tested length was solved (T50 > tested_max) and "below" when
    none was (T50 < tested_min); then t50 and the interval are None. An interval end is +-inf
    when more than 2.5% of the bootstrap samples solved every (or no) tested length.
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


def _t50_of(b0: np.ndarray, b1: np.ndarray, successes: np.ndarray, trials: np.ndarray, centre, scale) -> np.ndarray:
    """T50 = -b0/b1 back in T units; +inf where all solved, -inf where none, nan for a rising curve."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t50 = centre + scale * (-b0 / b1)
    total = successes.sum(1)
    t50 = np.where(b1 < 0, t50, np.nan)  # success that does not fall with T has no memory length
    t50 = np.where(total == trials.sum(), np.inf, t50)
    return np.where(total == 0, -np.inf, t50)


def _percentile(values: np.ndarray, q: float) -> float:
    """An order statistic (no interpolation, so +-inf replicates stay meaningful)."""
    ordered = np.sort(values)
    return float(ordered[min(len(ordered) - 1, max(0, math.floor(q * len(ordered))))])


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


def _fit(lengths: np.ndarray, outcome: np.ndarray, n_boot: int, rng, t_range) -> tuple[T50Estimate, np.ndarray]:
    """The estimate and its bootstrap replicates (+-inf where a resample solved all or none)."""
    common = {"tested_min": int(lengths.min()), "tested_max": int(lengths.max()), "n": int(lengths.size)}
    nothing = np.empty(0)
    if outcome.all():
        return T50Estimate(None, None, None, ABOVE, **common), nothing
    if not outcome.any():
        return T50Estimate(None, None, None, BELOW, **common), nothing
    unique_t, index = np.unique(lengths, return_inverse=True)
    trials = np.bincount(index, minlength=len(unique_t)).astype(float)
    successes = np.bincount(index, weights=outcome, minlength=len(unique_t))
    if len(unique_t) == 1:
        return T50Estimate(None, None, None, NONE, **common, note="one length tested: no curve to fit"), nothing

    centre = float(lengths.mean())
    scale = float(lengths.std()) or 1.0
    z = (unique_t - centre) / scale
    generator = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    boot = generator.binomial(trials.astype(int), successes / trials, size=(n_boot, len(unique_t))).astype(float)
    all_successes = np.vstack([successes, boot])
    b0, b1 = _logistic_fits(z, trials, all_successes)
    t50s = _t50_of(b0, b1, all_successes, trials, centre, scale)
    point, replicates = t50s[0], t50s[1:]
    if not np.isfinite(point):
        return T50Estimate(None, None, None, NONE, **common, note="success does not fall with T: no T50"), nothing
    # a resample whose curve rises with T has no T50 to contribute: dropped
    replicates = replicates[~np.isnan(replicates)]
    low, high = _percentile(replicates, 0.025), _percentile(replicates, 0.975)
    longest_solved, shortest_failed = lengths[outcome].max(), lengths[~outcome].min()
    if longest_solved < shortest_failed:
        # Complete separation: the data say only that T50 lies between these two lengths, and every
        # resample is the same data. The ridge-damped slope can put -b0/b1 outside that gap when
        # the tested lengths are spread unevenly (5..17 solved, 20..100 failed gave 20.7): keep it in.
        point = float(np.clip(point, longest_solved, shortest_failed))
        replicates = np.clip(replicates, longest_solved, shortest_failed)
        low, high = float(longest_solved), float(shortest_failed)
    # Resampling runs cannot change a length where all (or no) runs solved, so a clean boundary
    # between two tested lengths would get a zero-width interval; T50 is only known to lie between
    # them, so the interval reaches the adjacent tested length on each such side.
    below, above = unique_t <= point, unique_t >= point
    if below.any() and successes[below][-1] == trials[below][-1]:
        low = min(low, float(unique_t[below][-1]))
    if above.any() and successes[above][0] == 0:
        high = max(high, float(unique_t[above][0]))
    if t_range is not None:
        lo, hi = float(t_range[0]), float(t_range[1])
        point, low, high = (float(np.clip(v, lo, hi)) for v in (point, low, high))
        replicates = np.clip(replicates, lo, hi)
    note = ""
    if not common["tested_min"] <= point <= common["tested_max"]:
        note = f"extrapolated beyond the tested lengths {common['tested_min']}..{common['tested_max']}"
    curve = {"intercept": float(b0[0] - b1[0] * centre / scale), "slope": float(b1[0] / scale)}
    return T50Estimate(float(point), low, high, NONE, **common, note=note, **curve), replicates


def fit_t50(seq_len, solved, seed=None, *, n_boot: int = 1000, rng=0, t_range=None) -> T50Estimate:
    """Memory length: fit P(solved | T) as a logistic curve in T and return T50 = -b0/b1.

    seq_len, solved (bool) and seed are equal-length array-likes, one entry per run. When seeds
    are given, a (T, seed) pair seen twice is one run (the first is kept, a warning is logged).
    The 95% interval is the percentile bootstrap (Efron 1979) resampling runs within each T,
    i.e. drawing each T's solved count from Binomial(n_T, k_T / n_T). `rng` seeds the bootstrap
    (an int or a numpy Generator). `t_range=(lo, hi)` clips the estimate and interval ends to the
    lengths a T50 may take (e.g. a search's bounds); by default nothing is clipped.
    """
    lengths, outcome = _runs(seq_len, solved, seed)
    return _fit(lengths, outcome, n_boot, rng, t_range)[0]


@dataclass(frozen=True)
class Difference:
    """An estimated difference with its 95% bootstrap interval."""

    estimate: float
    ci_low: float
    ci_high: float

    @property
    def excludes_zero(self) -> bool:
        return self.ci_low > 0 or self.ci_high < 0


def t50_difference(seq_len_a, solved_a, seq_len_b, solved_b, *, n_boot: int = 1000, rng=0) -> Difference | None:
    """T50(a) - T50(b) with a percentile interval from independent resamples of each model's runs.

    None unless both T50 are estimable (neither censored nor undefined). Independent resampling
    ignores that both models saw the same seeds, which can only widen the interval.
    """
    generator = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    a, reps_a = _fit(*_runs(seq_len_a, solved_a, None), n_boot, generator, None)
    b, reps_b = _fit(*_runs(seq_len_b, solved_b, None), n_boot, generator, None)
    if a.t50 is None or b.t50 is None:
        return None
    size = min(len(reps_a), len(reps_b))
    with np.errstate(invalid="ignore"):
        diffs = reps_a[:size] - reps_b[:size]
    diffs = diffs[~np.isnan(diffs)]
    if not diffs.size:
        return None
    return Difference(a.t50 - b.t50, _percentile(diffs, 0.025), _percentile(diffs, 0.975))


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
