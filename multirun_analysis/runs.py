"""From sweep dirs to tidy frames: one row per run (and per planned job not started), and the curves.

* `runs`: identity columns (sweep, job, job_num, status, task, model, seq_len, seed), the flattened
  config as dotted columns (`model.name`, `optim.lr`, ...; typed as written: see `_typed`), the results
  of summary.json (`final_eval_acc`, `steps_done`, `early_stopped_at`, ...), `provenance.*`, and
  `problems` (what could not be read). A job whose files are missing, partial or corrupt is still
  a row: its status says so (`missing`, `corrupt`). A planned job that has not started is a row
  with status `pending` (from the sweep's own record, multirun.yaml, or the adaptive sweeper's
  search.csv). A running job's progress comes from its metrics.csv.
* `curves`: every metrics.csv in long form: `job, step, metric, value`.
* Runs of the same config and seed found twice (sweeps combined, a single run repeated) are one
  run: the most finished copy is kept, the others are listed in `duplicates`.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sweeplab import contract, sweeps

from . import discover, read

log = logging.getLogger(__name__)

MISSING = sweeps.MISSING  # a job dir without summary.json (nor error.txt): started and killed, or not yet written
CORRUPT = sweeps.CORRUPT  # summary.json unreadable
PENDING = sweeps.PENDING  # planned by the sweep, no job dir yet
UNFINISHED = (contract.RUNNING, MISSING, PENDING)

ID_COLUMNS = ("sweep", "job", "job_num", "status", "task", "model", "seq_len", "seed")
#: summary.json keys that say where or how a run went, not what it computed
OTHER_RESULTS = (contract.DEVICE, "torch_version", contract.ERROR)
PROVENANCE_KEYS = ("git_commit", "git_dirty", "sweeplab", "torch", "python", "device")
_NOT_RESULTS = {contract.STATUS, contract.OVERRIDES, contract.CONFIG, contract.PROVENANCE, contract.TASK}


def summary_to_config(summary: dict | None) -> dict[str, str]:
    """summary.json keys that repeat a config value (its task spec's `settings`): read only when a job
    has no config at all."""
    spec = contract.task_spec((summary or {}).get(contract.TASK))
    return {contract.TASK: "task", **(spec.settings if spec is not None else {})}


def numeric_results(tasks) -> tuple[str, ...]:
    """The result columns of `tasks` (their specs'), always present and numbers as numbers."""
    columns = dict.fromkeys(("steps", *contract.COMMON_RESULTS))
    for name in sorted({str(t) for t in tasks if t is not None and t == t}):
        spec = contract.task_spec(name)
        columns.update(dict.fromkeys(spec.results if spec is not None else ()))
    return tuple(columns)


@dataclass
class Sweep:
    """One sweep dir: what its multirun.yaml says was swept, and how many jobs it planned."""

    path: Path
    label: str = ""
    kind: str = "sweep"  # "sweep", or "single runs" (a folder of `sweeplab` runs without -m)
    sweeper: str = ""
    task_overrides: list[str] = field(default_factory=list)
    sweeper_params: dict[str, str] = field(default_factory=dict)
    planned: int | None = None  # jobs the sweep will run (None: unknown, e.g. an adaptive search)
    adaptive: bool = False  # its sweeper decides later jobs as it goes
    sweeper_settings: dict[str, Any] = field(default_factory=dict)  # hydra.sweeper's other keys (t_min...)
    search: pd.DataFrame | None = None  # search.csv, when the sweeper wrote one
    problems: list[str] = field(default_factory=list)
    unreadable: list[tuple[Path, str]] = field(default_factory=list)


@dataclass
class SweepData:
    """Everything loaded: the sweeps, the runs table, the long curves, the collapsed duplicates."""

    sweeps: list[Sweep]
    runs: pd.DataFrame
    curves: pd.DataFrame
    config_columns: list[str]
    duplicates: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def single_runs(self) -> bool:
        return bool(self.sweeps) and all(s.kind == "single runs" for s in self.sweeps)


# --------------------------------------------------------------------------- one job
def _identity(config: dict) -> str | None:
    """The settings that decide a run's result, as a comparable string (None without a config)."""
    flat = contract.flatten(contract.as_recorded(config))
    kept = {k: v for k, v in flat.items() if contract.groups_results(k)}
    return json.dumps(kept, sort_keys=True, default=str) if kept else None


def _status(summary: dict | None, summary_problem: str | None, job_dir: Path) -> str:
    if summary is not None:
        return str(summary.get("status") or "unknown")
    if summary_problem:
        return CORRUPT
    if (job_dir / contract.ERROR_FILE).is_file():
        return contract.FAILED
    return MISSING


def read_job(job_dir: Path, job_key: str) -> tuple[dict, dict, pd.DataFrame | None]:
    """(the row's ids and results, its flat config, its metrics or None)."""
    problems: list[str] = []
    hydra_dir = job_dir / ".hydra"
    config, problem = read.read_yaml(job_dir / contract.HYDRA_CONFIG)
    problems += [problem] if problem else []
    overrides, problem = read.read_yaml(hydra_dir / "overrides.yaml")
    problems += [problem] if problem else []
    hydra_cfg, problem = read.read_yaml(hydra_dir / "hydra.yaml")
    problems += [problem] if problem else []
    summary, summary_problem = read.read_summary(job_dir)
    metrics, metrics_problem = read.read_metrics(job_dir / contract.METRICS_FILE)
    problems += [p for p in (summary_problem, metrics_problem) if p]

    if summary and isinstance(summary.get("config"), dict):
        config = summary["config"]  # the resolved config; .hydra/config.yaml keeps ${...} as typed
    flat: dict[str, Any] = contract.flatten(config) if isinstance(config, dict) else {}
    identity = _identity(config) if isinstance(config, dict) else None
    if not flat:
        problems.append("no .hydra/config.yaml")
        for skey, ckey in summary_to_config(summary).items():  # an older or damaged run: what summary.json repeats
            if summary and summary.get(skey) is not None:
                flat[ckey] = summary[skey]
    if not isinstance(overrides, list):
        overrides = summary.get("overrides") if summary and isinstance(summary.get("overrides"), list) else []
    for key, value in read.override_values(overrides).items():
        flat.setdefault(key, value)

    hydra_job = hydra_cfg.get("hydra", {}) if isinstance(hydra_cfg, dict) else {}
    hydra_job = hydra_job if isinstance(hydra_job, dict) else {}
    job_info = hydra_job.get("job") if isinstance(hydra_job.get("job"), dict) else {}
    choices = (hydra_job.get("runtime") or {}).get("choices") if isinstance(hydra_job.get("runtime"), dict) else None
    job_num = sweeps.job_num(job_dir)
    try:
        job_num = int(job_info["num"])
    except (TypeError, KeyError, ValueError):
        pass

    status = _status(summary, summary_problem, job_dir)
    if status == MISSING:
        problems.append("no summary.json")
    row: dict[str, Any] = {"status": status}
    if summary is not None:
        repeats = summary_to_config(summary)
        for key, value in summary.items():  # results, including a task's own (a GAN's fid...)
            if key not in _NOT_RESULTS and key not in repeats and not isinstance(value, (dict, list)):
                row[key] = value
        provenance = summary.get("provenance")
        if isinstance(provenance, dict):
            row.update({f"provenance.{k}": v for k, v in provenance.items() if not isinstance(v, (dict, list))})
    if status == contract.FAILED and not row.get("error"):
        row["error"] = read.read_error_line(job_dir)
    if status == contract.COMPLETED and metrics is None and not metrics_problem:
        problems.append("completed but no metrics.csv")
    if metrics is not None and len(metrics):
        last = int(metrics["step"].max())
        done = row.get("steps_done")
        if not isinstance(done, (int, float)) or (status not in contract.FINISHED and last > done):
            row["steps_done"] = last  # a running job's summary is written at start: its progress is here
    if row.get("steps") is None:
        row["steps"] = flat.get("trainer.steps")

    choices = choices if isinstance(choices, dict) else {}
    row.update(
        job=job_key,
        job_num=job_num,
        job_dir=str(job_dir),
        task=flat.get("task") or (summary or {}).get("task") or choices.get("task"),
        model=flat.get("model.name") or choices.get("model") or (summary or {}).get("model"),
        seq_len=flat.get("seq_len"),
        seed=flat.get("seed"),
        hydra_mode=hydra_job.get("mode"),
        overrides=" ".join(str(o) for o in overrides),
        identity=identity,
        problems="; ".join(problems),
    )
    if row["task"] is None and row["model"] is not None and row["seq_len"] is not None:
        row["task"] = "palindrome"
    return row, flat, metrics


# --------------------------------------------------------------------------- one sweep
def _sweep_info(path: Path) -> tuple[Sweep, list[list[str]] | None]:
    """The sweep's record and, for a grid sweep, the overrides of every planned job (sweeplab.sweeps)."""
    sweep = Sweep(path=path)
    record = sweeps.read_record(path, load=read.read_yaml)
    sweep.problems += [record.problem] if record.problem else []
    if not record.found:
        return sweep, None
    sweep.task_overrides, sweep.sweeper = record.task_overrides, record.sweeper
    sweep.sweeper_params, sweep.sweeper_settings = record.params, record.settings
    if not record.grid:
        sweep.adaptive = True
        return sweep, None
    plan = record.planned_jobs()
    if plan is None:
        sweep.problems.append("the swept values in multirun.yaml could not be expanded: pending jobs unknown")
    return sweep, plan


def _search_plan(path: Path) -> pd.DataFrame | None:
    """The adaptive sweeper's probes (search.csv: round, model, seq_len, seed, job, solved, reason)."""
    file = path / contract.SEARCH_FILE
    try:
        if not file.is_file():
            return None
        probes = pd.read_csv(file, on_bad_lines="skip")
    except (OSError, ValueError, pd.errors.ParserError):
        return None
    if not {"model", "seq_len", "seed"} <= set(probes.columns):
        return None
    return probes.dropna(subset=["seq_len", "seed"])


def _pending_rows(sweep: Sweep, plan, found: list[dict], key_of) -> list[tuple[dict, dict]]:
    """Rows for the planned jobs that have no job dir yet."""
    pending: list[tuple[dict, dict]] = []
    if plan is not None:
        sweep.planned = len(plan)
        have = {r["job_num"] for r in found if r["job_num"] is not None}
        for num, overrides in enumerate(plan):
            if num in have:
                continue
            flat = read.override_values(overrides)
            pending.append((_planned_row(key_of(str(num)), num, flat, overrides), flat))
    probes = sweep.search = _search_plan(sweep.path)
    if probes is not None:
        have_jobs = {Path(r["job_dir"]).name for r in found}
        have_cells = {(r["model"], r["seq_len"], r["seed"]) for r in found}
        for probe in probes.itertuples(index=False):
            job = str(getattr(probe, "job", "") or "")
            job = job.removesuffix(".0")
            cell = (str(probe.model), int(probe.seq_len), int(probe.seed))
            if (job and job in have_jobs) or cell in have_cells:
                continue
            flat = {"model.name": cell[0], "seq_len": cell[1], "seed": cell[2]}
            num = int(job) if job.isdigit() else None
            pending.append((_planned_row(key_of(job or "?"), num, flat, []), flat))
        if sweep.adaptive:
            sweep.planned = len(found) + len(pending)
    return pending


def _planned_row(job: str, num: int | None, flat: dict, overrides: list[str]) -> dict:
    return {"job": job, "job_num": num, "job_dir": None, "status": PENDING, "task": flat.get("task"),
                "model": flat.get("model.name"), "seq_len": flat.get("seq_len"), "seed": flat.get("seed"),
                "overrides": " ".join(overrides), "identity": None, "problems": ""}  # fmt: skip


def _is_single_runs(path: Path, rows: list[dict]) -> bool:
    if (path / contract.SWEEP_CONFIG).is_file() or not rows:
        return False
    return any(r["hydra_mode"] == "RUN" for r in rows) or not all(Path(r["job_dir"]).name.isdigit() for r in rows)


def _labels(paths: list[Path]) -> list[str]:
    if len(paths) == 1:
        return [paths[0].resolve().name or str(paths[0])]
    resolved = [p.resolve() for p in paths]
    common = Path(os.path.commonpath(resolved))
    return [str(p.relative_to(common)) if p != common else p.name for p in resolved]


# --------------------------------------------------------------------------- all sweeps
_STATUS_RANK = {contract.COMPLETED: 0, contract.DIVERGED: 1, contract.FAILED: 2, contract.RUNNING: 3}


def collapse_duplicates(runs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(runs with one row per identity, the dropped copies with the job kept in their place).

    The copy kept is the most finished one: completed, diverged, failed, running, then the one with
    most steps done, then the first found.
    """
    empty = pd.DataFrame(columns=["job", "status", "kept", "kept_status", "same_result"])
    if runs.empty or runs["identity"].isna().all():
        return runs, empty
    rank = runs["status"].map(lambda s: _STATUS_RANK.get(s, 9))
    steps = pd.to_numeric(runs["steps_done"], errors="coerce").fillna(-1)
    order = runs.assign(_rank=rank, _steps=-steps).sort_values(["_rank", "_steps"], kind="stable")
    has_id = order["identity"].notna()
    dropped = order[has_id & order.duplicated("identity", keep="first")]
    if dropped.empty:
        return runs, empty
    kept = order[has_id].drop_duplicates("identity", keep="first").set_index("identity")
    table = pd.DataFrame({
        "job": dropped["job"].to_numpy(),
        "status": dropped["status"].to_numpy(),
        "kept": kept.loc[dropped["identity"], "job"].to_numpy(),
        "kept_status": kept.loc[dropped["identity"], "status"].to_numpy(),
    })  # fmt: skip
    # a copy run by other code (or on another device) may differ: say so rather than hide it
    mine = pd.to_numeric(dropped["final_eval_acc"], errors="coerce").to_numpy()
    theirs = pd.to_numeric(kept.loc[dropped["identity"], "final_eval_acc"], errors="coerce").to_numpy()
    table["same_result"] = [
        "—" if pd.isna(a) or pd.isna(b) else "yes" if abs(a - b) < 1e-12 else f"no ({a:.4g} vs {b:.4g})"
        for a, b in zip(mine, theirs)
    ]
    return runs.drop(index=dropped.index), table


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Object columns as the type of their values: bools -> boolean, ints -> Int64 (with gaps), numbers ->
    float64, strings -> string; a mixed column stays object."""
    out = {}
    for col in frame.columns:
        values = frame[col].dropna()
        kinds = {type(v) for v in values}
        if not kinds:
            out[col] = frame[col]
        elif kinds == {bool}:
            out[col] = frame[col].astype("boolean")
        elif kinds == {int}:
            out[col] = frame[col].astype("Int64")
        elif kinds <= {int, float}:
            out[col] = frame[col].astype("float64")
        elif kinds == {str}:
            out[col] = frame[col].astype("string")
        else:
            out[col] = frame[col]
    return pd.DataFrame(out, index=frame.index)


def _frame(rows: list[dict], flats: list[dict]) -> tuple[pd.DataFrame, list[str]]:
    """The runs frame: ids and results, then the config as dotted, typed columns."""
    # flats come from contract.flatten (the one flattener); DataFrame(dtype=object) keeps the values as
    # written, so that `_typed` can tell 1 from 1.0 (json_normalize + convert_dtypes turn 1.0 into 1)
    config = pd.DataFrame(flats, dtype=object) if flats else pd.DataFrame(index=range(len(rows)))
    in_ids = [c for c in config.columns if c in ID_COLUMNS]  # task, seq_len, seed: already id columns
    config_columns = list(config.columns)
    results = pd.DataFrame(rows, dtype=object)
    numeric = numeric_results(row.get("task") for row in rows)
    for col in (*ID_COLUMNS, *numeric, *OTHER_RESULTS, "job_dir", "problems", "overrides", "identity"):
        if col not in results.columns:
            results[col] = None
    results = results.drop(columns=[c for c in results.columns if c in config.columns and c not in in_ids])
    runs = pd.concat([results.reset_index(drop=True), config.drop(columns=in_ids).reset_index(drop=True)], axis=1)
    runs = runs[[*ID_COLUMNS, *[c for c in runs.columns if c not in ID_COLUMNS]]]
    typed = _typed(runs.drop(columns=list(numeric)))
    for col in numeric:
        typed[col] = pd.to_numeric(runs[col], errors="coerce").astype(float)
    typed["job_num"] = pd.to_numeric(runs["job_num"], errors="coerce").astype("Int64")
    return typed[runs.columns], config_columns


def _curves(parts: list[pd.DataFrame]) -> pd.DataFrame:
    if parts:
        return pd.concat(parts, ignore_index=True)
    return pd.DataFrame({"job": pd.Series(dtype=str), "step": pd.Series(dtype="int64"),
                         "metric": pd.Series(dtype=str), "value": pd.Series(dtype=float)})  # fmt: skip


def load_sweeps(paths: list[str | os.PathLike]) -> SweepData:
    """Find the sweeps under `paths` and read all their jobs. Raises NoSweepsFound."""
    sweep_paths = discover.find_sweeps(paths)
    if not sweep_paths:
        raise discover.NoSweepsFound("no sweep found: " + "; ".join(discover.why_not(Path(p)) for p in paths))
    for path in paths:
        if not discover.find_sweeps([path]):
            log.warning("skipped: %s", discover.why_not(Path(path)))
    rows: list[dict] = []
    flats: list[dict] = []
    curve_parts: list[pd.DataFrame] = []
    read_sweeps: list[Sweep] = []
    for path, label in zip(sweep_paths, _labels(sweep_paths)):
        sweep, plan = _sweep_info(path)
        sweep.label = label
        read_sweeps.append(sweep)

        def key_of(name: str, label=label) -> str:
            return name if len(sweep_paths) == 1 else f"{label}/{name}"

        found: list[dict] = []
        dirs, sweep.unreadable = sweeps.job_dirs(path)
        for job_dir in dirs:
            row, flat, metrics = read_job(job_dir, key_of(job_dir.name))
            row["sweep"] = label
            found.append(row)
            flats.append(flat)
            if metrics is not None and len(metrics):
                cols = [c for c in metrics.columns if c != "step"]
                long = metrics.melt(id_vars="step", value_vars=cols, var_name="metric", value_name="value")
                long.insert(0, "job", row["job"])
                curve_parts.append(long.dropna(subset=["value"]))
        if _is_single_runs(path, found):
            sweep.kind = "single runs"
        for pending, flat in _pending_rows(sweep, plan, found, key_of):
            pending["sweep"] = label
            found.append(pending)
            flats.append(flat)
        rows += found
        log.info("%s: %d job dir(s), %d unreadable", path, len(dirs), len(sweep.unreadable))

    runs, config_columns = _frame(rows, flats)
    runs, duplicates = collapse_duplicates(runs)
    curves = _curves(curve_parts)
    if len(duplicates):
        curves = curves[curves["job"].isin(runs["job"])]
    return SweepData(sweeps=read_sweeps, runs=runs.reset_index(drop=True), curves=curves.reset_index(drop=True),
                     config_columns=config_columns, duplicates=duplicates)  # fmt: skip
