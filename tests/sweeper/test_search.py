"""The memory-length search on simulated models (a function of T and seed, no training): it finds a
known boundary inside its interval, stays within its budget, answers "above t_max" / "below t_min",
and a rerun that replays the finished results reproduces the plan and continues it."""

import hashlib
import math

import pytest

from hydra_plugins.sweeplab_memory_sweeper import search
from hydra_plugins.sweeplab_memory_sweeper.search import CONFIRM_SEEDS, Observation, Settings


def sharp(t0: float):
    """A model that solves every T below t0 and no T above, whatever the seed."""
    return lambda t, seed: t < t0


def noisy(t0: float, slope: float, salt: int = 0):
    """P(solved | T) = 1 / (1 + exp((T - t0) / slope)), drawn reproducibly from (salt, T, seed)."""

    def solved(t, seed):
        draw = int(hashlib.sha256(f"{salt}-{t}-{seed}".encode()).hexdigest()[:8], 16) / 16**8
        return draw < 1 / (1 + math.exp((t - t0) / slope))

    return solved


class Simulator:
    """evaluate(round, probes) for search.run: answers from the models, counting what it was asked."""

    def __init__(self, models: dict, known: dict | None = None):
        self.models = models
        self.known = dict(known or {})  # (model, T, seed) -> solved: finished earlier, not run again
        self.ran: list[tuple] = []
        self.rounds: list[list[search.Probe]] = []

    def __call__(self, round_no, probes):
        assert round_no == len(self.rounds) + 1
        self.rounds.append(list(probes))
        observations = []
        for p in probes:
            if p.key not in self.known:
                self.ran.append(p.key)
                self.known[p.key] = self.models[p.model](p.seq_len, p.seed)
            observations.append(Observation(p.model, p.seq_len, p.seed, self.known[p.key]))
        return observations


def run(settings, models, known=None):
    sim = Simulator(models, known)
    observations, states = search.run(settings, sim)
    return sim, observations, {s.model: s for s in states}


def test_ladder_gallops_from_t_min_to_t_max():
    assert search.ladder(5, 100) == [5, 10, 20, 40, 80, 100]
    assert search.ladder(5, 40) == [5, 10, 20, 40]
    assert search.ladder(3, 4) == [3, 4]


def test_round_one_gallops_every_model_with_its_seeds():
    probes = search.next_probes(Settings(seeds_per_probe=2), [])
    assert [(p.model, p.seq_len, p.seed) for p in probes[:4]] == [
        ("rnn", 5, 0), ("lstm", 5, 0), ("rnn", 5, 1), ("lstm", 5, 1)
    ]  # fmt: skip
    for model in ("rnn", "lstm"):
        mine = [(p.seq_len, p.seed) for p in probes if p.model == model]
        assert mine == [(t, s) for t in (5, 10, 20, 40, 80, 100) for s in (0, 1)]
    assert all(p.reason.startswith("gallop") for p in probes)


@pytest.mark.parametrize("t0", [7.5, 17.5, 33.5, 62.5, 99.5])
def test_a_sharp_boundary_lies_inside_a_narrow_interval(t0):
    settings = Settings(models=("m",), budget=40)
    _, observations, states = run(settings, {"m": sharp(t0)})
    state = states["m"]
    assert state.done, state.why
    estimate = state.estimate
    assert estimate.ci_low <= t0 <= estimate.ci_high
    assert estimate.ci_high - estimate.ci_low < settings.target_width
    assert len(observations) <= 25  # a sharp boundary is cheap: gallop, a few bisections, a few seeds either side


def test_a_shallow_boundary_stops_on_the_budget_and_says_how_far_it_is():
    """The RNN's boundary (slope 0.26 per unit T) cannot reach width 5 in 30 jobs: the search says so,
    with the interval it has and a budget that would continue it."""
    settings = Settings(models=("m",), budget=30, target_width=5)
    model = {"m": noisy(22.0, 1 / 0.26, salt=0)}
    first, observations, states = run(settings, model)
    state, estimate = states["m"], states["m"].estimate
    assert len(observations) == 30 and not state.done
    assert f"interval [{estimate.ci_low:.1f}, {estimate.ci_high:.1f}] is {estimate.width:.1f} wide" in state.why
    assert "wider than the target 5" in state.why
    more = search.more_jobs_needed(state, settings)
    assert more > 0 and f"about {more} more jobs would reach it (hydra.sweeper.budget={30 + more}" in state.why
    # the budget it names continues the same search to a narrower interval
    _, _, continued = run(Settings(models=("m",), budget=30 + more, target_width=5), model, known=first.known)
    assert continued["m"].estimate.width < estimate.width


def test_refinement_probes_where_the_fitted_success_is_a_quarter_and_three_quarters():
    class Fitted:  # P(solved | T) = 1 / (1 + exp(0.5 (T - 20))): 0.75 at T = 17.8, 0.25 at T = 22.2
        t50, slope = 20.0, -0.5

    assert search.refine_lengths(Fitted(), None, None, Settings()) == [17, 23]
    Fitted.slope = -30.0  # a step: the lengths either side of it
    assert search.refine_lengths(Fitted(), None, None, Settings()) == [19, 21]


def test_two_models_with_noisy_boundaries_are_found_within_the_budget():
    settings = Settings()  # the preset's: rnn and lstm, T in [5, 100], 100 jobs, width 10
    for salt in range(4):
        models = {"rnn": noisy(16.3, 1.0, salt), "lstm": noisy(58.7, 1.0, salt + 100)}
        sim, observations, states = run(settings, models)
        assert len(observations) <= settings.budget
        assert len(set(sim.ran)) == len(sim.ran)  # no (model, T, seed) twice
        for model, t0 in (("rnn", 16.3), ("lstm", 58.7)):
            estimate = states[model].estimate
            assert abs(estimate.t50 - t0) < settings.target_width, (salt, model, estimate)
        # most of the jobs went near the boundaries, not to the grid's 120 cells
        near = sum(1 for o in observations if abs(o.seq_len - {"rnn": 16.3, "lstm": 58.7}[o.model]) <= 6)
        assert near >= len(observations) / 2


def test_the_budget_caps_the_jobs_and_is_shared_in_turn():
    settings = Settings(budget=7)
    sim, observations, states = run(settings, {"rnn": sharp(17.5), "lstm": sharp(62.5)})
    assert len(observations) == 7
    assert [p.model for p in sim.rounds[0]] == ["rnn", "lstm"] * 3 + ["rnn"]  # in turn, gallop order
    assert all(not s.done and "budget of 7 jobs spent" in s.why for s in states.values())


def test_every_length_solved_is_the_censored_answer_above_t_max():
    settings = Settings(models=("m",))
    sim, observations, states = run(settings, {"m": sharp(1000)})
    state = states["m"]
    assert state.done and state.estimate.censored == "above"
    assert search.verdict(state, settings) == "T50 above t_max=100"
    assert sum(1 for o in observations if o.seq_len == 100) == CONFIRM_SEEDS
    assert len(observations) == len(search.ladder(5, 100)) + CONFIRM_SEEDS - 1
    assert sim.rounds[1][0].reason.startswith("confirm: every length up to t_max=100 solved")


def test_no_length_solved_is_the_censored_answer_below_t_min():
    settings = Settings(models=("m",), t_min=4, t_max=50)
    _, observations, states = run(settings, {"m": sharp(2)})
    assert states["m"].done and states["m"].estimate.censored == "below"
    assert search.verdict(states["m"], settings) == "T50 below t_min=4"
    assert sum(1 for o in observations if o.seq_len == 4) == CONFIRM_SEEDS


def test_one_failure_at_t_max_is_not_above_t_max():
    """A seed that fails at t_max while confirming turns the answer into a search near t_max."""
    settings = Settings(models=("m",))
    model = lambda t, seed: t < 100 or seed == 0
    _, observations, states = run(settings, {"m": model})
    assert states["m"].estimate.censored == "none"
    assert max(o.seq_len for o in observations if not o.solved) == 100


def test_failed_jobs_count_as_not_solved_and_the_search_goes_on():
    """A job that fails (here: every seed-0 job) is an observation like any other."""
    settings = Settings(models=("m",), budget=30)
    model = lambda t, seed: seed > 0 and t < 30.5
    _, observations, _ = run(settings, {"m": model})
    assert len(observations) > len(search.ladder(5, 100))
    assert any(o.solved for o in observations)


def test_a_rerun_replays_finished_results_and_runs_nothing_again():
    settings = Settings()
    models = {"rnn": noisy(16.3, 1.0, 7), "lstm": noisy(58.7, 1.5, 8)}
    first, observations, states = run(settings, models)

    again, replayed, states_again = run(settings, models, known=first.known)
    assert again.ran == []  # every probe was finished
    assert again.rounds == first.rounds  # the same plan, round by round, with the same reasons
    assert replayed == observations
    assert {m: s.estimate for m, s in states_again.items()} == {m: s.estimate for m, s in states.items()}


def test_an_interrupted_search_resumes_where_it_stopped():
    settings = Settings()
    models = {"rnn": noisy(21.2, 1.0, 3), "lstm": noisy(44.4, 1.0, 4)}
    whole, observations, _ = run(settings, models)

    class Killed(Exception):
        pass

    partial = Simulator(models)

    def killed_after_three_rounds(round_no, probes):
        if round_no == 4:
            raise Killed
        return partial(round_no, probes)

    with pytest.raises(Killed):
        search.run(settings, killed_after_three_rounds)
    resumed, resumed_observations, _ = run(settings, models, known=partial.known)
    assert resumed_observations == observations
    assert resumed.ran == whole.ran[len(partial.ran) :]  # only what the killed sweep had not run


def test_a_larger_budget_continues_the_same_search():
    small = Settings(budget=20)
    models = {"rnn": noisy(16.3, 2.0, 5), "lstm": noisy(58.7, 2.0, 6)}
    first, observations, _ = run(small, models)
    more, more_observations, _ = run(Settings(budget=40), models, known=first.known)
    assert more_observations[: len(observations)] == observations
    assert len(more.ran) == len(more_observations) - len(observations) > 0


def test_the_plan_is_a_function_of_the_observations():
    settings = Settings()
    observations = [Observation("rnn", t, 0, t < 17) for t in (5, 10, 20, 40, 80, 100)]
    first, states = search.plan_round(settings, observations)
    second, _ = search.plan_round(settings, list(observations))
    assert first == second
    rnn = [p for p in first if p.model == "rnn"]
    assert [(p.seq_len, p.reason) for p in rnn] == [(15, "bisect between 10 (solved) and 20 (not solved)")]
    assert states[1].why == "gallop"  # lstm has not run yet


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"t_min": 1}, "t_min must be >= 2"),
        ({"t_max": 5}, "t_max must be above t_min"),
        ({"models": ()}, "models must be a non-empty list"),
        ({"models": ("rnn", "rnn")}, "without repeats"),
        ({"seeds_per_probe": 0}, "seeds_per_probe must be >= 1"),
        ({"budget": 0}, "budget (jobs) must be >= 1"),
        ({"target_width": 0.0}, "target_width must be > 0"),
    ],
)
def test_unusable_settings_are_named(change, message):
    problems = Settings(**change).problems()
    assert len(problems) == 1 and message in problems[0]
    assert Settings().problems() == []


def test_the_rules_and_the_grid_it_replaces():
    settings = Settings()
    assert search.grid_jobs(settings) == 120  # range(5, 101, 5) x 3 seeds x 2 models
    text = search.rules(settings)
    assert "gallop T = 5, 10, 20, 40, 80, 100" in text
    assert f"at most {search.DEFAULT_BUDGET} jobs" in text and "120 jobs" in text


def test_first_seed_gives_fresh_seeds_from_round_one_on():
    settings = Settings(models=("m",), first_seed=100, budget=12)
    sim, observations, _ = run(settings, {"m": noisy(20.0, 3.0, salt=9)})
    assert {o.seed for o in observations if o.seq_len == 5} >= {100}
    assert min(o.seed for o in observations) == 100
    assert Settings(first_seed=-1).problems() == ["first_seed must be >= 0, got -1"]
