"""What budget reaches what interval width on a boundary as shallow as the RNN's (docs/ANALYSIS.md).

    python bench/calibration_search_budget.py [--searches 30] [--seed 1]

One simulated model, P(solved | T) = 1 / (1 + exp(0.26 (T - 22))) (the real RNN's dense sweep), searched
by `search.py` at several (budget, target width) pairs: the share of searches that reached the target,
the median final width, the coverage of the true T50 and the mean jobs used.
"""

import argparse
import sys

import numpy as np

from hydra_plugins.sweeplab_memory_sweeper import search
from multirun_analysis.calibration import success_probability

SLOPE, T50 = 0.26, 22.0
PAIRS = ((40, 5.0), (80, 5.0), (120, 5.0), (40, 8.0), (50, 8.0), (60, 8.0), (40, 10.0), (50, 10.0))


def measure(budget: int, target: float, searches: int, rng: np.random.Generator) -> dict:
    settings = search.Settings(models=("m",), budget=budget, target_width=target)
    jobs, widths, covered, reached = [], [], [], []

    def evaluate(_round, probes):
        solved = rng.random(len(probes)) < success_probability([p.seq_len for p in probes], SLOPE, T50)
        return [search.Observation(p.model, p.seq_len, p.seed, bool(s)) for p, s in zip(probes, solved)]

    for _ in range(searches):
        observations, (state,) = search.run(settings, evaluate)
        estimate = state.estimate
        jobs.append(len(observations))
        widths.append(estimate.width)
        covered.append(estimate.t50 is not None and estimate.ci_low <= T50 <= estimate.ci_high)
        reached.append(estimate.width < target)
    return {
        "reached": np.mean(reached),
        "width": np.median(widths),
        "coverage": np.mean(covered),
        "jobs": np.mean(jobs),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--searches", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    sys.stdout.write("| budget | target | reached | median width | coverage | jobs |\n|---|---|---|---|---|---|\n")
    for budget, target in PAIRS:
        r = measure(budget, target, args.searches, np.random.default_rng(args.seed))
        sys.stdout.write(
            f"| {budget} | {target:g} | {100 * r['reached']:.0f}% | {r['width']:.1f} | {100 * r['coverage']:.0f}% "
            f"| {r['jobs']:.1f} |\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
