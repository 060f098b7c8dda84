"""T50's interval covers the truth as often as it says, on simulated sweeps (multirun_analysis.calibration).

Seeded, so each number is the same on every run; the default suite runs a slice, `pytest -m slow` the
issue's targets."""

from __future__ import annotations

import numpy as np
import pytest

from hydra_plugins.sweeplab_memory_sweeper import search
from multirun_analysis import calibration
from multirun_analysis.stats import fit_t50


def test_three_seeds_on_a_shallow_boundary_never_claim_a_width_the_data_cannot_support():
    """The old bootstrap covered 85-88% here; a too-narrow interval would show as lost coverage."""
    cells = calibration.study(sweeps=150, searches=0, seed=11, slopes=(0.3,), t50s=(17.3, 22.6), grid_seeds=(3,))
    for cell in cells:
        assert cell.coverage >= 0.93, cell
        assert cell.median_width >= 8  # 15 runs cannot place a shallow boundary closer than this
        assert abs(cell.bias) < 1.0 and cell.censored == 0


def test_the_search_driven_by_the_interval_covers_the_truth():
    (cell,) = calibration.study(
        sweeps=1, searches=30, seed=12, slopes=(1.0,), grid_seeds=(), search_designs=((40, 5.0),), search_t50s=(22.6,)
    )
    assert cell.coverage >= 0.9, cell
    assert cell.mean_jobs <= 40


@pytest.mark.parametrize("t50, slope, salt", [(17.3, 0.3, 0), (22.6, 0.5, 1), (35.0, 1.0, 2), (60.0, 0.26, 3)])
def test_the_grid_and_the_search_agree_within_their_intervals(t50, slope, salt):
    """The same simulated model swept by the grid (range(5, 101, 5) x 3 seeds) and searched (its default)."""
    rng = np.random.default_rng(salt)
    lengths = np.repeat(np.arange(5, 101, 5), 3)
    grid = fit_t50(lengths, rng.random(lengths.size) < calibration.success_probability(lengths, slope, t50))

    def evaluate(_round, probes):
        solved = rng.random(len(probes)) < calibration.success_probability([p.seq_len for p in probes], slope, t50)
        return [search.Observation(p.model, p.seq_len, p.seed, bool(s)) for p, s in zip(probes, solved)]

    _, (state,) = search.run(search.Settings(models=("m",), budget=50), evaluate)
    searched = state.estimate
    assert grid.ci_low <= searched.ci_high and searched.ci_low <= grid.ci_high, (grid, searched)
    assert grid.ci_low <= t50 <= grid.ci_high and searched.ci_low <= t50 <= searched.ci_high


@pytest.mark.slow
def test_the_issue_targets_on_the_grid():
    """3-seed grid: >= 93% in every cell, median width <= 5.5 where the slope is >= 1 and T50 lies between
    tested lengths (on one, 1 or 2 of its 3 runs solving leaves 15-25 open: width 8.3); 10 seeds: >= 92%."""
    for cell in calibration.study(300, 0, seed=1, slopes=(0.3, 0.5, 1.0, 2.0), grid_seeds=(3,)):
        assert cell.coverage >= 0.93, cell
        assert cell.slope < 1 or cell.t50 == 20 or cell.median_width <= 5.5, cell
    for cell in calibration.study(300, 0, seed=2, slopes=(0.3, 0.5), grid_seeds=(10,)):
        assert cell.coverage >= 0.92, cell


@pytest.mark.slow
def test_the_issue_targets_for_the_search():
    """Budget 40: >= 93% on average and >= 90% in every cell at slopes 0.5 and 1; at 4, <= 22 jobs."""
    design = ((40, 5.0),)
    cells = calibration.study(1, 100, seed=3, slopes=(0.5, 1.0), grid_seeds=(), search_designs=design)
    assert np.mean([c.coverage for c in cells]) >= 0.93 and min(c.coverage for c in cells) >= 0.90, cells
    sharp = calibration.study(1, 100, seed=4, slopes=(4.0,), grid_seeds=(), search_designs=design)
    assert all(c.mean_jobs <= 22 for c in sharp), sharp
