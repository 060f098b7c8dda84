"""The memory-length search: from the runs seen so far to the next round of probes (no Hydra, no torch).

For each model the search looks for T50, the palindrome length at which half the runs solve:

1. gallop: round 1 probes t_min, 2 t_min, 4 t_min, ... and t_max (continued while every length is solved);
2. bisect (integer T) between the longest length solved and the shortest length failed (by majority
   over seeds) while they are `target_width` or more apart;
3. refine: add seeds where the fitted curve is at 0.25 and 0.75 (T50 -+ ln 3 / slope), the two
   lengths whose runs shrink T50's interval most for a logistic of unknown slope, until T50's
   interval (multirun_analysis.stats.fit_t50: a grid posterior whose coverage the calibration study
   measured, docs/ANALYSIS.md) is narrower than `target_width`.

A model is done when its interval is narrower than `target_width`, or when it is censored: every
length solved up to t_max ("above t_max") or none down to t_min ("below t_min"), each confirmed by
CONFIRM_SEEDS seeds at that end. The whole search stops at `budget` jobs; a model not done then says
how wide its interval still is and about how many more jobs would reach the target. Every decision is a
function of the observations only, so replaying the same results reproduces the same probes: that is
how a rerun resumes.
"""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

#: seeds at t_max (t_min) that must all solve (fail) before a model is called "above t_max" ("below t_min")
CONFIRM_SEEDS = 3
#: the grid the search is compared with: seq_len=range(t_min, t_max + 1, GRID_STEP) x GRID_SEEDS seeds
GRID_STEP, GRID_SEEDS = 5, 3
#: the default pair, measured together (bench/calibration_search_budget.py, docs/ANALYSIS.md): at the
#: RNN's shallow boundary (slope 0.26 per unit T) a one-model search reaches width 10 with 50 jobs in
#: 93% of simulated searches; width 5 takes about 90 jobs per model there, more than two models' 100
DEFAULT_BUDGET, DEFAULT_TARGET_WIDTH = 100, 10.0
#: the refinement probes where the fitted success is this and 1 - this: where runs narrow T50's
#: interval most for a logistic whose slope is not known either (measured: docs/ANALYSIS.md)
REFINE_SUCCESS = 0.25


@dataclass(frozen=True)
class Settings:
    models: tuple[str, ...] = ("rnn", "lstm")
    t_min: int = 5
    t_max: int = 100
    seeds_per_probe: int = 1
    budget: int = DEFAULT_BUDGET  # jobs in all models together
    target_width: float = DEFAULT_TARGET_WIDTH
    first_seed: int = 0  # seeds first_seed, first_seed + 1, ...: fresh seeds for a check on new runs

    def problems(self) -> list[str]:
        """What is wrong with these settings (empty when they are usable)."""
        wrong = []
        if not self.models or len(set(self.models)) != len(self.models):
            wrong.append(f"models must be a non-empty list without repeats, got {list(self.models)}")
        if self.t_min < 2:
            wrong.append(f"t_min must be >= 2 (the shortest palindrome), got {self.t_min}")
        if self.t_max <= self.t_min:
            wrong.append(f"t_max must be above t_min, got t_min={self.t_min} t_max={self.t_max}")
        if self.seeds_per_probe < 1:
            wrong.append(f"seeds_per_probe must be >= 1, got {self.seeds_per_probe}")
        if self.budget < 1:
            wrong.append(f"budget (jobs) must be >= 1, got {self.budget}")
        if not self.target_width > 0:
            wrong.append(f"target_width must be > 0, got {self.target_width}")
        if self.first_seed < 0:
            wrong.append(f"first_seed must be >= 0, got {self.first_seed}")
        return wrong


@dataclass(frozen=True)
class Probe:
    model: str
    seq_len: int
    seed: int
    reason: str  # why the search chose it (search.csv)

    @property
    def key(self) -> tuple[str, int, int]:
        return (self.model, self.seq_len, self.seed)


@dataclass(frozen=True)
class Observation:
    model: str
    seq_len: int
    seed: int
    solved: bool  # a failed or diverged job counts as not solved


@dataclass(frozen=True)
class ModelState:
    """Where one model's search stands after the observations so far."""

    model: str
    estimate: Any  # multirun_analysis.stats.T50Estimate, or None before any run
    done: bool
    why: str  # why it is done, or what the next probes are for
    probes: tuple[Probe, ...] = field(default=())  # wanted next (before the budget is applied)
    runs: int = 0
    lengths: tuple[int, ...] = field(default=())  # the length of each run seen


Fit = Callable[..., Any]  # fit_t50(seq_len, solved, seed, *, t_range) -> T50Estimate


def default_fit() -> Fit:
    from multirun_analysis.stats import fit_t50  # numpy: imported only when a search runs

    return fit_t50


def ladder(t_min: int, t_max: int) -> list[int]:
    """The galloping lengths: t_min, 2 t_min, 4 t_min, ... below t_max, then t_max."""
    lengths, t = [], t_min
    while t < t_max:
        lengths.append(t)
        t *= 2
    return lengths + [t_max]


def plan_round(
    settings: Settings, observations: Sequence[Observation], fit: Fit | None = None
) -> tuple[list[Probe], list[ModelState]]:
    """The next round's probes (empty: the search is over) and each model's state."""
    fit = fit or default_fit()
    states = [_model_state(settings, m, [o for o in observations if o.model == m], fit) for m in settings.models]
    left = settings.budget - len(observations)
    probes = _within_budget([list(s.probes) for s in states], left)
    if not probes:
        states = [s if s.done else _replace(s, why=budget_spent(s, settings)) for s in states]
    return probes, states


def budget_spent(state: ModelState, settings: Settings) -> str:
    """The honest end state of a model the budget stopped: how wide, and about how many more jobs."""
    width = interval_width(state.estimate)
    spent = f"budget of {settings.budget} jobs spent"
    if not math.isfinite(width):
        return f"{spent} before T50 had an interval"
    more = more_jobs_needed(state, settings)
    return (
        f"{spent}: interval [{state.estimate.ci_low:.1f}, {state.estimate.ci_high:.1f}] is {width:.1f} wide, "
        f"wider than the target {settings.target_width:g}; about {more} more jobs would reach it "
        f"(hydra.sweeper.budget={settings.budget + more} continues this search)"
    )


def more_jobs_needed(state: ModelState, settings: Settings) -> int:
    """About how many more runs near the boundary bring the interval to the target width.

    A rough rule: the width shrinks as 1 / sqrt(runs near the boundary), counting the runs whose
    lengths lie within the interval widened by half its width on each side (at least 2)."""
    estimate = state.estimate
    width = interval_width(estimate)
    if width < settings.target_width:
        return 0
    near = max(2, sum(1 for t in state.lengths if estimate.ci_low - width / 2 <= t <= estimate.ci_high + width / 2))
    return max(1, math.ceil(near * ((width / settings.target_width) ** 2 - 1)))


def next_probes(settings: Settings, observations: Sequence[Observation], fit: Fit | None = None) -> list[Probe]:
    return plan_round(settings, observations, fit)[0]


def run(
    settings: Settings,
    evaluate: Callable[[int, list[Probe]], Sequence[Observation]],
    fit: Fit | None = None,
) -> tuple[list[Observation], list[ModelState]]:
    """Search until done: `evaluate(round, probes)` runs (or looks up) one round's probes."""
    observations: list[Observation] = []
    round_no = 0
    while True:
        probes, states = plan_round(settings, observations, fit)
        if not probes:
            return observations, states
        round_no += 1
        observations.extend(evaluate(round_no, probes))


def _replace(state: ModelState, **changes: Any) -> ModelState:
    return ModelState(**{**state.__dict__, **changes})


def _within_budget(wanted: list[list[Probe]], left: int) -> list[Probe]:
    """Take the models' probes in turn (each model's in its own order) until `left` are taken."""
    taken: list[Probe] = []
    position = 0
    while len(taken) < left and any(position < len(w) for w in wanted):
        for probes in wanted:
            if position < len(probes) and len(taken) < left:
                taken.append(probes[position])
        position += 1
    return taken


def _model_state(settings: Settings, model: str, seen: list[Observation], fit: Fit) -> ModelState:
    s = settings
    if not seen:
        probes = _seeded(model, ladder(s.t_min, s.t_max), seen, s.seeds_per_probe, f"gallop up from t_min={s.t_min}", s)
        return ModelState(model, None, False, "gallop", tuple(probes))

    estimate = fit(
        [o.seq_len for o in seen], [o.solved for o in seen], [o.seed for o in seen], t_range=(s.t_min, s.t_max)
    )
    common = {"model": model, "estimate": estimate, "runs": len(seen), "lengths": tuple(o.seq_len for o in seen)}
    lengths = sorted({o.seq_len for o in seen})
    if estimate.censored == "above":
        if lengths[-1] < s.t_max:
            t = min(2 * lengths[-1], s.t_max)
            why = f"gallop: every length up to {lengths[-1]} solved"
            return ModelState(
                **common, done=False, why=why, probes=tuple(_seeded(model, [t], seen, s.seeds_per_probe, why, s))
            )
        return _confirm(settings, seen, common, s.t_max, "above", f"every length up to t_max={s.t_max} solved")
    if estimate.censored == "below":
        if lengths[0] > s.t_min:
            why = f"no length down to {lengths[0]} solved"
            return ModelState(
                **common, done=False, why=why, probes=tuple(_seeded(model, [s.t_min], seen, s.seeds_per_probe, why, s))
            )
        return _confirm(settings, seen, common, s.t_min, "below", f"no length down to t_min={s.t_min} solved")

    width = interval_width(estimate)
    if width < s.target_width:
        return ModelState(**common, done=True, why=f"interval {width:.1f} wide, narrower than {s.target_width:g}")

    lo, hi = bracket(seen)
    if lo is not None and hi is not None and hi - lo >= max(2, s.target_width):
        mid = (lo + hi) // 2
        why = f"bisect between {lo} (solved) and {hi} (not solved)"
        return ModelState(
            **common, done=False, why=why, probes=tuple(_seeded(model, [mid], seen, s.seeds_per_probe, why, s))
        )

    lengths = refine_lengths(estimate, lo, hi, s)
    why = f"refine: T50 {describe(estimate)}, interval {width:.1f} wide, target < {s.target_width:g}"
    return ModelState(
        **common, done=False, why=why, probes=tuple(_seeded(model, lengths, seen, s.seeds_per_probe, why, s))
    )


def refine_lengths(estimate: Any, lo: int | None, hi: int | None, s: Settings) -> list[int]:
    """The integer lengths where the fitted curve is at REFINE_SUCCESS and 1 - REFINE_SUCCESS."""
    centre = estimate.t50 if estimate.t50 is not None and math.isfinite(estimate.t50) else _centre(estimate, lo, hi, s)
    slope = abs(estimate.slope) if getattr(estimate, "slope", None) else 0.0
    # P = 1 / (1 + exp(slope (T - T50))) is p at T = T50 -+ ln((1 - p) / p) / slope
    half = math.log((1 - REFINE_SUCCESS) / REFINE_SUCCESS) / slope if slope > 0 else float(s.t_max - s.t_min)
    half = min(max(half, 1.0), float(s.t_max - s.t_min))
    wanted = (math.floor(centre - half), math.ceil(centre + half))
    return list(dict.fromkeys(min(s.t_max, max(s.t_min, t)) for t in wanted))


def _confirm(settings: Settings, seen: list[Observation], common: dict, t: int, side: str, claim: str) -> ModelState:
    """A censored answer holds once CONFIRM_SEEDS seeds at that end agree."""
    have = sum(1 for o in seen if o.seq_len == t)
    if have >= CONFIRM_SEEDS:
        return ModelState(**common, done=True, why=claim)
    why = f"confirm: {claim} (seeds at T={t}: {have} of {CONFIRM_SEEDS})"
    return ModelState(
        **common,
        done=False,
        why=why,
        probes=tuple(_seeded(common["model"], [t], seen, CONFIRM_SEEDS - have, why, settings)),
    )


def _seeded(
    model: str, lengths: list[int], seen: list[Observation], count: int, why: str, settings: Settings
) -> list[Probe]:
    """`count` new seeds at each length: the smallest seeds from settings.first_seed not yet run there."""
    probes = []
    first = settings.first_seed
    for t in lengths:
        used = {o.seed for o in seen if o.seq_len == t}
        seeds = [s for s in range(first, first + len(used) + count) if s not in used][:count]
        probes += [Probe(model, t, seed, why) for seed in seeds]
    return probes


def bracket(seen: Sequence[Observation]) -> tuple[int | None, int | None]:
    """(longest length solved below the shortest failed, shortest failed), by majority over seeds."""
    runs: dict[int, list[bool]] = {}
    for o in seen:
        runs.setdefault(o.seq_len, []).append(o.solved)
    failed = [t for t, solved in runs.items() if sum(solved) < len(solved) / 2]
    hi = min(failed) if failed else None
    solved = [t for t, s in runs.items() if sum(s) >= len(s) / 2 and (hi is None or t < hi)]
    return (max(solved) if solved else None), hi


def _centre(estimate: Any, lo: int | None, hi: int | None, s: Settings) -> int:
    if estimate.t50 is not None and math.isfinite(estimate.t50):
        return round(estimate.t50)
    known = [t for t in (lo, hi) if t is not None]
    return round(sum(known) / len(known)) if known else s.t_min


def interval_width(estimate: Any) -> float:
    if estimate is None or estimate.ci_low is None or estimate.ci_high is None:
        return math.inf
    return float(estimate.ci_high) - float(estimate.ci_low)


def describe(estimate: Any) -> str:
    """'17.3 (95% CI 15.0-19.0)', or why there is no number."""
    if estimate is None:
        return "not estimated (no runs)"
    if estimate.t50 is None:
        note = getattr(estimate, "note", "") or "not estimable"
        return f"not estimated ({note})"
    return f"{estimate.t50:.1f} (95% CI {estimate.ci_low:.1f}-{estimate.ci_high:.1f})"


def verdict(state: ModelState, settings: Settings) -> str:
    """The model's answer in one phrase: T50 with its interval, or the censored answer."""
    estimate = state.estimate
    if estimate is not None and estimate.censored == "above":
        return f"T50 above t_max={settings.t_max}" if state.done else f"T50 above {estimate.tested_max} (not confirmed)"
    if estimate is not None and estimate.censored == "below":
        return f"T50 below t_min={settings.t_min}" if state.done else f"T50 below {estimate.tested_min} (not confirmed)"
    edge = ""
    if estimate is not None and estimate.t50 is not None:
        if estimate.t50 <= settings.t_min:
            edge = f", at or below t_min={settings.t_min}"
        elif estimate.t50 >= settings.t_max:
            edge = f", at or above t_max={settings.t_max}"
    return f"T50 = {describe(estimate)}{edge}"


def grid_jobs(settings: Settings) -> int:
    """Jobs of the grid the search replaces: seq_len=range(t_min, t_max + 1, 5) x 3 seeds x models."""
    return len(range(settings.t_min, settings.t_max + 1, GRID_STEP)) * GRID_SEEDS * len(settings.models)


def rules(settings: Settings) -> str:
    """The search's rules with these settings, for a dry run."""
    s = settings
    gallop = ", ".join(map(str, ladder(s.t_min, s.t_max)))
    grid = f"seq_len=range({s.t_min}, {s.t_max + 1}, {GRID_STEP}) x {GRID_SEEDS} seeds"
    lines = [
        f"Per model ({', '.join(s.models)}), search T in [{s.t_min}, {s.t_max}] for T50 (half the runs solve):",
        f"  round 1: gallop T = {gallop} ({s.seeds_per_probe} seed(s) each, seeds from {s.first_seed} up);",
        "  then bisect (integer T) between the longest T solved and the shortest T failed (majority over seeds)",
        f"    while they are {max(2, s.target_width):g} or more apart;",
        f"  then add {s.seeds_per_probe} seed(s) where the fitted success is {REFINE_SUCCESS:g} and "
        f"{1 - REFINE_SUCCESS:g},",
        f"    until T50's interval (calibrated to cover 95%) is < {s.target_width:g} wide;",
        f"  'above t_max' / 'below t_min' once {CONFIRM_SEEDS} seeds at that end agree;",
        "  a failed or diverged job counts as not solved;",
        f"  at most {s.budget} jobs in all (the grid {grid}: {grid_jobs(s)} jobs).",
    ]
    return "\n".join(lines)
