"""How often T50's interval covers the truth: a seeded simulation study of `stats.fit_t50`.

    python -m multirun_analysis.calibration [--sweeps 1000] [--searches 200] [--seed 0]

Each simulated run solves length T with probability 1 / (1 + exp(s (T - T50))), independently of
every other run (the method's own assumption). Two kinds of design:

* grid: T = 10, 15, ..., 30 with 3, 5 or 10 seeds per length, as `experiment=rnn_vs_lstm` runs it;
* search: the designs the adaptive memory-length search (`search.py`, one model, its default t_min
  and t_max, each (budget, target width) of SEARCH_DESIGNS) produces, driven by the simulated runs.

Per cell it reports the coverage of the reported interval (a censored answer, "T50 > 30", counts as
a miss: the truth lies inside the tested lengths), the coverage a plain 95% credible interval would
have had (grid cells, the candidate it was chosen over, with the same closing at tested lengths), the median width, the bias and RMSE of the
point estimate (over the estimable sweeps) and, for the search, its mean jobs. The table goes to
stdout in Markdown; docs/ANALYSIS.md holds one.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from dataclasses import dataclass

import numpy as np

from . import stats

GRID_LENGTHS = (10, 15, 20, 25, 30)
SLOPES = (0.2, 0.3, 0.5, 1.0, 2.0, 4.0)
#: true T50 off the tested lengths, and on one (20: a clean 3/3 vs 0/3 gap there is 1 in 8)
TRUE_T50 = (17.3, 20.0, 22.6)
SEARCH_T50 = (17.3, 22.6)
GRID_SEEDS = (3, 5, 10)
#: (budget, target width) of the simulated one-model searches: the issue's design, and the default
#: (100 jobs for two models, so about 50 for one) with its target
SEARCH_DESIGNS = ((40, 5.0), (50, 10.0))


@dataclass(frozen=True)
class Cell:
    design: str  # "grid 3 seeds", "search budget 40"
    slope: float
    t50: float
    sweeps: int
    coverage: float
    coverage_95: float  # of the plain 95% credible interval (nan for the search)
    median_width: float
    bias: float
    rmse: float
    censored: float  # share of sweeps answered "T50 > x" / "T50 < x"
    mean_jobs: float


def success_probability(lengths, slope: float, t50: float) -> np.ndarray:
    return 1 / (1 + np.exp(slope * (np.asarray(lengths, dtype=float) - t50)))


def _summarise(design, slope, t50, estimates, cover_95, jobs) -> Cell:
    points = np.array([e.t50 for e in estimates if e.t50 is not None])
    covered = [e.t50 is not None and e.ci_low <= t50 <= e.ci_high for e in estimates]
    widths = [e.width for e in estimates]
    errors = points - t50
    return Cell(
        design,
        slope,
        t50,
        len(estimates),
        float(np.mean(covered)),
        float(np.mean(cover_95)) if cover_95 else float("nan"),
        float(np.median(widths)),
        float(errors.mean()) if errors.size else float("nan"),
        float(np.sqrt((errors**2).mean())) if errors.size else float("nan"),
        float(np.mean([e.censored != stats.NONE for e in estimates])),
        float(np.mean(jobs)),
    )


def grid_cell(seeds: int, slope: float, t50: float, sweeps: int, rng: np.random.Generator) -> Cell:
    """`sweeps` simulated grid sweeps (GRID_LENGTHS x `seeds`), each fitted as the report fits it."""
    lengths = np.repeat(GRID_LENGTHS, seeds).astype(float)
    outcomes = rng.random((sweeps, lengths.size)) < success_probability(lengths, slope, t50)
    estimates, cover_95 = [], []
    for outcome in outcomes:
        estimate, posterior = stats._fit(lengths, outcome, None)
        estimates.append(estimate)
        if posterior is not None:
            margin = stats.EDGE_CELLS * (posterior.high - posterior.low) / stats.T50_CELLS
            low, high = stats._closed_at_tested(*posterior.quantile([0.025, 0.975]), np.unique(lengths), margin)
            cover_95.append(low <= t50 <= high)
        else:
            cover_95.append(False)
    return _summarise(f"grid, {seeds} seeds", slope, t50, estimates, cover_95, [lengths.size] * sweeps)


def search_cell(budget: int, target: float, slope: float, t50: float, searches: int, rng: np.random.Generator) -> Cell:
    """`searches` simulated adaptive searches of one model, each answered by its last fit."""
    from hydra_plugins.sweeplab_memory_sweeper import search

    settings = search.Settings(models=("m",), budget=budget, target_width=target)
    estimates, jobs = [], []
    for _ in range(searches):

        def evaluate(_round, probes):
            p = success_probability([probe.seq_len for probe in probes], slope, t50)
            solved = rng.random(len(probes)) < p
            return [search.Observation(q.model, q.seq_len, q.seed, bool(s)) for q, s in zip(probes, solved)]

        observations, states = search.run(settings, evaluate)
        estimates.append(states[0].estimate)
        jobs.append(len(observations))
    return _summarise(f"search, budget {budget}, target {target:g}", slope, t50, estimates, [], jobs)


def study(
    sweeps: int,
    searches: int,
    seed: int,
    slopes=SLOPES,
    t50s=TRUE_T50,
    grid_seeds=GRID_SEEDS,
    search_designs=SEARCH_DESIGNS,
    search_t50s=SEARCH_T50,
):
    """Every cell of the study, from one seed (each cell draws from its own child generator)."""
    count = len(slopes) * (len(t50s) * len(grid_seeds) + len(search_t50s) * len(search_designs))
    children = iter(np.random.SeedSequence(seed).spawn(count))
    cells = []
    for seeds in grid_seeds:
        for slope in slopes:
            for t50 in t50s:
                cells.append(grid_cell(seeds, slope, t50, sweeps, np.random.default_rng(next(children))))
    for budget, target in search_designs if searches else ():
        for slope in slopes:
            for t50 in search_t50s:
                rng = np.random.default_rng(next(children))
                cells.append(search_cell(budget, target, slope, t50, searches, rng))
    return cells


def table(cells: list[Cell]) -> str:
    head = (
        "| design | slope | T50 | sweeps | coverage | 95% credible | median width | bias | RMSE | censored | jobs |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|\n"
    )

    def pct(x: float) -> str:
        return "–" if np.isnan(x) else f"{100 * x:.1f}%"

    rows = [
        f"| {c.design} | {c.slope:g} | {c.t50:g} | {c.sweeps} | {pct(c.coverage)} | {pct(c.coverage_95)} | "
        f"{c.median_width:.1f} | {c.bias:+.2f} | {c.rmse:.2f} | {pct(c.censored)} | {c.mean_jobs:.1f} |"
        for c in cells
    ]
    return head + "\n".join(rows) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m multirun_analysis.calibration", description=__doc__.split("\n")[0])
    parser.add_argument("--sweeps", type=int, default=1000, help="simulated grid sweeps per cell (default 1000)")
    parser.add_argument("--searches", type=int, default=100, help="simulated searches per cell (default 100; 0: none)")
    parser.add_argument("--seed", type=int, default=0, help="the study's seed (default 0)")
    args = parser.parse_args(argv)
    if args.sweeps < 1 or args.searches < 0:
        parser.error("--sweeps must be >= 1 and --searches >= 0")
    logging.basicConfig(level=logging.ERROR)  # duplicate-run warnings cannot occur; keep stderr for errors
    start = time.perf_counter()
    cells = study(args.sweeps, args.searches, args.seed)
    took = time.perf_counter() - start
    sys.stdout.write(table(cells))
    sys.stdout.write(
        f"\nseed {args.seed}, {args.sweeps} sweeps per grid cell, {args.searches} searches per search cell; "
        f"{took:.0f} s\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
