"""The memory-length sweeper: per model, search a memory task's length T for T50 in rounds of jobs.

Any task whose spec (sweeplab.contract.TaskSpec) has a solved rule and the difficulty axis seq_len:
the palindrome, the adding problem, the copy task.

`sweeplab -m experiment=memory_length` (or `hydra/sweeper=memory_length`). The search itself is
search.py (a pure function of the results so far); this module runs it through Hydra:

- each round's probes become ordinary jobs (`model=M seq_len=T seed=S` plus the fixed overrides), launched
  with one `launcher.launch(batch, initial_job_idx)` call through whatever launcher is configured; job
  numbers keep growing across rounds, so every job has its own dir `${hydra.sweep.dir}/${hydra.sweep.subdir}`;
- a job is solved when its summary.json says `completed` and its task's solved rule holds for its final
  value (the palindrome: final_eval_acc >= threshold; `threshold` defaults to the spec's); a failed or
  diverged job counts as not solved and the search goes on (the sweep still exits non-zero at the end);
- search.csv in the sweep dir records every probe, its job, its result and why it was chosen;
- a rerun into the same sweep dir replays the search: a probe keeps the job number search.csv gave it,
  a finished job (`completed`, `diverged`, same config) is read, not run again, so the replay reproduces
  the plan and launches only what is missing; a dir of another config refuses the sweep;
- one sweep at a time per sweep dir (sweeplab.lock); `hydra.sweeper.dry_run=true` logs the rules and
  the round that would be launched next (round 1 on a new dir), launching and writing nothing.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.plugins import Plugins
from hydra.core.utils import JobReturn
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf

from hydra_plugins.sweeplab_memory_sweeper import record, search
from hydra_plugins.sweeplab_sweeper.jobs import (
    closing_line,
    consecutive_runs,
    fit_workers,
    locate,
    raise_first_failure,
    refuse_conflicts,
)
from sweeplab.contract import COMPLETED, SEARCH_FILE, SWEEP_CONFIG, TaskSpec, read_summary, task_spec, task_specs
from sweeplab.errors import ConfigError
from sweeplab.finished import job_state
from sweeplab.lock import hold

log = logging.getLogger(__name__)

#: the keys the sweeper sets in every job: the command line and `params` may not
PROBE_KEYS = ("model", "seq_len", "seed")
#: the reason of a probe from an earlier sweep that the replayed search no longer makes
UNUSED = "not part of the replayed search (an earlier job's result changed)"


@dataclass
class MemoryLengthSweeperConf:
    _target_: str = "hydra_plugins.sweeplab_memory_sweeper.sweeper.MemoryLengthSweeper"
    models: list[str] = field(default_factory=lambda: ["rnn", "lstm"])
    t_min: int = 5
    t_max: int = 100
    seeds_per_probe: int = 1  # seeds per length in round 1 and per bisection / refinement probe
    budget: int = search.DEFAULT_BUDGET  # jobs in all (the grid range(5, 101, 5) x 3 seeds x 2 models is 120)
    target_width: float = search.DEFAULT_TARGET_WIDTH  # stop a model once T50's interval is narrower than this
    first_seed: int = 0  # the search's seeds are first_seed, first_seed + 1, ... (fresh seeds: e.g. 100)
    threshold: float | None = None  # the solved rule's threshold (None: the task spec's, 0.99 for the palindrome)
    params: dict[str, str] | None = None  # fixed overrides for every job, e.g. {trainer.steps: 2000}
    dry_run: bool = False  # log the rules and the next round; launch nothing


ConfigStore.instance().store(
    group="hydra/sweeper", name="memory_length", node=MemoryLengthSweeperConf, provider="sweeplab"
)


@dataclass
class Job:
    """One probe as a job: its number, dir, resolved config and what to do with it."""

    round: int
    probe: search.Probe
    num: int
    overrides: list[str]
    job_dir: Path
    config: Any
    state: str = "new"
    action: str = "run"  # run, skip, refuse


class MemoryLengthSweeper(Sweeper):
    def __init__(
        self,
        models: Sequence[str] = ("rnn", "lstm"),
        t_min: int = 5,
        t_max: int = 100,
        seeds_per_probe: int = 1,
        budget: int = search.DEFAULT_BUDGET,
        target_width: float = search.DEFAULT_TARGET_WIDTH,
        first_seed: int = 0,
        threshold: float | None = None,
        params: dict[str, str] | None = None,
        dry_run: bool = False,
    ) -> None:
        self.settings = search.Settings(
            models=tuple(str(m) for m in models),
            t_min=int(t_min),
            t_max=int(t_max),
            seeds_per_probe=int(seeds_per_probe),
            budget=int(budget),
            target_width=float(target_width),
            first_seed=int(first_seed),
        )
        self.threshold = None if threshold is None else float(threshold)
        self.params = dict(params or {})
        self.dry_run = dry_run
        self.hydra_context: HydraContext | None = None
        self.config: DictConfig | None = None
        self.launcher: Any = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.hydra_context = hydra_context
        self.config = config
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config
        )

    def sweep(self, arguments: list[str]) -> Any:
        assert self.config is not None and self.hydra_context is not None
        self.check_settings()
        fixed = self.fixed_overrides(arguments)
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        rounds = Rounds(self, fixed, sweep_dir, record.read(sweep_dir / SEARCH_FILE))
        if self.dry_run:
            log.info("dry run, nothing is launched:\n%s\n%s", search.rules(self.settings), rounds.dry_run())
            return []
        rounds.check_dir()  # another sweep's dir is refused before anything is written
        fit_workers(self.launcher, 1)  # n_jobs far above the cores: refused before anything is written
        sweep_dir.mkdir(parents=True, exist_ok=True)
        with hold(sweep_dir, "sweep"):
            OmegaConf.save(self.config, sweep_dir / SWEEP_CONFIG)
            _, states = search.run(self.settings, rounds.run_round)
            rounds.finish()
        for line in self.summary(states, rounds):
            log.info(line)
        log.info(closing_line(sweep_dir))
        raise_first_failure(rounds.returns)
        return rounds.returns

    def check_settings(self) -> None:
        problems = self.settings.problems()
        spec = self.spec
        if self.threshold is not None and not (
            0 < self.threshold and (spec.solved.lower_is_better or self.threshold <= 1)
        ):
            problems.append(f"threshold must be in (0, 1], got {self.threshold}")
        if problems:
            raise ConfigError("hydra.sweeper (memory_length): " + "; ".join(problems))
        assert self.hydra_context is not None
        known = self.hydra_context.config_loader.get_group_options("model")
        unknown = [m for m in self.settings.models if m not in known]
        if known and unknown:
            raise ConfigError(
                f"hydra.sweeper.models: no model named {', '.join(unknown)}; choose from {', '.join(sorted(known))}"
            )

    def fixed_overrides(self, arguments: list[str]) -> list[str]:
        """`params` and the command line's overrides: single values, none of the keys the search sets."""
        assert self.hydra_context is not None
        given = [f"{k}={v}" for k, v in self.params.items()] + list(arguments)
        parser = OverridesParser.create(config_loader=self.hydra_context.config_loader)
        for override in parser.parse_overrides(given):
            key = override.key_or_group
            if key in PROBE_KEYS:
                raise ConfigError(
                    f"{override.input_line}: the memory-length sweeper sets model, seq_len and seed itself; "
                    "choose hydra.sweeper.models=[...], hydra.sweeper.t_min=..., hydra.sweeper.t_max=..., "
                    "hydra.sweeper.first_seed=... instead"
                )
            if override.is_sweep_override():
                raise ConfigError(
                    f"{override.input_line}: the memory-length sweeper runs one search, so every other setting "
                    "takes a single value; run one sweep per value (each with its own hydra.sweep.dir)"
                )
        return given

    def summary(self, states: list[search.ModelState], rounds: "Rounds") -> list[str]:
        """Each model's answer, and the compute used next to what the grid would have used."""
        lines = [
            f"{s.model}: {search.verdict(s, self.settings)}; {s.runs} jobs; {s.why}"
            for s in states  # each model's line
        ]
        steps_per_run = int(OmegaConf.select(self.config, "trainer.steps", default=0) or 0)
        grid_jobs = search.grid_jobs(self.settings)
        grid_steps = grid_jobs * steps_per_run
        used_steps = sum(row.steps_done or 0 for row in rounds.rows)
        share = f" ({100 * used_steps / grid_steps:.1f}% of its steps)" if grid_steps else ""
        lines.append(
            f"compute: {len(rounds.rows)} jobs ({rounds.launched} launched by this sweep), "
            f"{used_steps:,} training steps; the grid seq_len=range({self.settings.t_min}, {self.settings.t_max + 1}, "
            f"{search.GRID_STEP}) x {search.GRID_SEEDS} seeds x {len(self.settings.models)} models would take "
            f"{grid_jobs} jobs, {grid_steps:,} steps{share}"
        )
        return lines

    @property
    def spec(self) -> TaskSpec:
        """The task searched: one whose spec has a solved rule and the difficulty axis seq_len."""
        name = OmegaConf.select(self.config, "task", default=None) if self.config is not None else "palindrome"
        spec = task_spec(name)
        if spec is None or not spec.memory_task or spec.difficulty != "seq_len":
            memory_tasks = ", ".join(s.name for s in task_specs().values() if s.memory_task)
            raise ConfigError(
                f"the memory-length sweeper searches a memory task's seq_len ({memory_tasks}); got task={name}"
            )
        return spec

    def solved(self, summary: dict | None) -> bool:
        if not summary or summary.get("status") != COMPLETED:
            return False  # failed, diverged, killed: not solved
        rule = self.spec.solved
        return rule.met(summary.get(rule.summary_key), self.threshold)


class _DryRunStop(Exception):
    """Raised by a dry run's round that would launch jobs: the replay stops there."""


class Rounds:
    """The search's rounds as jobs: numbering, launching, reading results, and search.csv."""

    def __init__(self, sweeper: MemoryLengthSweeper, fixed: list[str], sweep_dir: Path, previous: list[record.Row]):
        self.sweeper = sweeper
        self.fixed = fixed
        self.sweep_dir = sweep_dir
        self.previous = previous
        self.numbers = {row.key: row.job for row in previous}  # a probe keeps its job number
        self.next_num = max((row.job for row in previous), default=-1) + 1
        self.rows: list[record.Row] = []
        self.returns: list[Sequence[JobReturn]] = []
        self.launched = 0
        self.dry: list[str] | None = None  # a dry run's report, when dry
        self._located: dict[tuple, tuple[Path, Any]] = {}

    # --- one round ------------------------------------------------------------------------------
    def run_round(self, round_no: int, probes: list[search.Probe]) -> list[search.Observation]:
        jobs = self.jobs(round_no, probes)
        refuse_conflicts(self.sweep_dir, jobs)
        to_run = [job for job in jobs if job.action == "run"]
        if self.dry is not None:
            if to_run:
                self.dry.append(format_round(round_no, jobs, "would run next"))
                raise _DryRunStop
            self.dry.append(f"round {round_no}: {len(jobs)} jobs, all finished earlier")
        else:
            log.info(format_round(round_no, jobs, "launching"))
            self.write_record(jobs, pending=True)  # the job numbers survive a kill
            self.launch(to_run)
        observations = [self.observe(job) for job in jobs]
        if self.dry is None:
            self.write_record(jobs, pending=False)
            results = ", ".join(f"{o.model} T={o.seq_len} seed={o.seed} {_outcome(o)}" for o in observations)
            log.info(f"round {round_no} results: {results}")
        return observations

    def jobs(self, round_no: int, probes: list[search.Probe]) -> list[Job]:
        jobs = []
        for probe in probes:
            num = self.numbers.get(probe.key)
            if num is None:
                num = self.numbers[probe.key] = self.next_num
                self.next_num += 1
            overrides = [f"model={probe.model}", f"seq_len={probe.seq_len}", f"seed={probe.seed}", *self.fixed]
            job_dir, config = self.locate(overrides, num)
            state, action = job_state(job_dir, config)
            jobs.append(Job(round_no, probe, num, overrides, job_dir, config, state, action))
        return jobs

    def locate(self, overrides: list[str], num: int) -> tuple[Path, Any]:
        key = (tuple(overrides), num)
        if key not in self._located:
            sweeper = self.sweeper
            assert sweeper.hydra_context is not None and sweeper.config is not None
            self._located[key] = locate(sweeper.hydra_context.config_loader, sweeper.config, overrides, num)
        return self._located[key]

    def launch(self, to_run: list[Job]) -> None:
        by_num = {job.num: job for job in to_run}
        for run in consecutive_runs(sorted(by_num), None):
            batch = [by_num[n].overrides for n in run]
            fit_workers(self.sweeper.launcher, len(batch))
            self.returns.append(self.sweeper.launcher.launch(batch, initial_job_idx=run[0]))
            self.launched += len(batch)

    def observe(self, job: Job) -> search.Observation:
        solved = self.sweeper.solved(read_summary(job.job_dir))
        return search.Observation(job.probe.model, job.probe.seq_len, job.probe.seed, solved)

    # --- search.csv -----------------------------------------------------------------------------
    def write_record(self, jobs: list[Job], pending: bool) -> None:
        rows = [self.row(job, pending and job.action == "run") for job in jobs]
        self.rows = [row for row in self.rows if row.round != jobs[0].round] + rows
        planned = {row.key for row in self.rows}
        # rows of an earlier sweep not (yet) reached by the replay stay, with their job numbers
        earlier = [row for row in self.previous if row.key not in planned]
        record.write(self.sweep_dir / SEARCH_FILE, self.rows + earlier)

    def row(self, job: Job, pending: bool) -> record.Row:
        summary = None if pending else read_summary(job.job_dir)
        p = job.probe
        return record.Row(
            round=job.round,
            model=p.model,
            seq_len=p.seq_len,
            seed=p.seed,
            job=job.num,
            solved=None if pending else self.sweeper.solved(summary),
            final=(summary or {}).get(self.sweeper.spec.solved.summary_key),
            steps_done=(summary or {}).get("steps_done"),
            reason=p.reason,
        )

    def finish(self) -> None:
        """The final record: earlier rows the replayed search no longer reached are marked as such."""
        planned = {row.key for row in self.rows}
        unused = [
            row if row.reason.startswith(UNUSED) else replace(row, reason=f"{UNUSED}: {row.reason}")
            for row in self.previous
            if row.key not in planned
        ]
        if self.rows or unused:
            record.write(self.sweep_dir / SEARCH_FILE, self.rows + unused)

    # --- checks and the dry run -----------------------------------------------------------------
    def check_dir(self) -> None:
        """Refuse a sweep dir whose jobs (round 1's, or those search.csv lists) hold another config."""
        first = self.jobs(1, search.next_probes(self.sweeper.settings, []))
        earlier = self.jobs(0, [search.Probe(row.model, row.seq_len, row.seed, row.reason) for row in self.previous])
        refuse_conflicts(self.sweep_dir, first + earlier)

    def dry_run(self) -> str:
        """The rounds already done (replayed from the finished jobs) and the round that would run next."""
        self.dry = []
        try:
            _, states = search.run(self.sweeper.settings, self.run_round)
            self.dry.append(
                "the search is complete: "
                + "; ".join(f"{s.model}: {search.verdict(s, self.sweeper.settings)}" for s in states)
            )
        except _DryRunStop:
            pass
        return "\n".join(self.dry)


def _outcome(observation: search.Observation) -> str:
    return "solved" if observation.solved else "not solved"


def format_round(round_no: int, jobs: list[Job], what: str) -> str:
    to_run = sum(1 for job in jobs if job.action == "run")
    lines = [f"round {round_no}: {len(jobs)} jobs, {to_run} {what}, {len(jobs) - to_run} finished earlier"]
    lines.append(f"{'job':>4}  {'state':<10}  {'model':<6} {'T':>4} {'seed':>4}  why")
    for job in jobs:
        p = job.probe
        lines.append(f"{job.num:>4}  {job.state:<10}  {p.model:<6} {p.seq_len:>4} {p.seed:>4}  {p.reason}")
    return "\n".join(lines)
