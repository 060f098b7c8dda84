"""Find Hydra sweeps and read their job dirs into DataFrames.

This module reads files only (see docs/ARTIFACTS.md); it never imports the training code.

* ``runs``: one row per job dir. Config keys are flattened into dotted, typed columns
  (``model.name``, ``optim.lr``, ``seq_len``...); the result keys of ``summary.json``
  (``status``, ``final_eval_acc``, ``best_eval_acc``, ``step_to_99``, ``device``...) are
  plain columns; ``problems`` says what could not be read. A job whose files are missing,
  partial or corrupt is still a row: its ``status`` says so (``missing``, ``corrupt``...).
* ``curves``: the long form of every ``metrics.csv``: ``job, step, metric, value``.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

log = logging.getLogger(__name__)

#: statuses written by the training code (summary.json)
#: statuses this loader gives a job whose summary.json cannot be used
MISSING = "missing"  # no summary.json (and no error.txt)
CORRUPT = "corrupt"  # summary.json exists but is not a JSON object

METRIC_COLUMNS = ("train_loss", "train_acc", "eval_loss", "eval_acc", "elapsed_s")

# summary.json keys that repeat a config value: used to fill the config column when the
# job's .hydra/config.yaml is missing or unreadable.
SUMMARY_TO_CONFIG = {
    "task": "task",
    "model": "model.name",
    "hidden_size": "model.hidden_size",
    "forget_bias": "model.forget_bias",
    "seq_len": "seq_len",
    "encoding": "data.encoding",
    "seed": "seed",
    "optimizer": "optim.name",
    "lr": "optim.lr",
    "batch_size": "trainer.batch_size",
    "steps": "trainer.steps",
}
# config groups whose override (``model=lstm``) names the option, i.e. ``<group>.name``
GROUP_NAME_KEYS = {"model": "model.name", "optim": "optim.name"}
#: group choices that are not settings of their own (their values show up as config keys)
GROUPS_WITHOUT_KEY = {"experiment", "data", "gan", "trainer"}

_NOT_RESULTS = {"status", "overrides", "config", *SUMMARY_TO_CONFIG}
RESULT_COLUMNS = (
    "steps_done", "final_eval_acc", "final_eval_loss", "best_eval_acc", "step_to_99",
    "wall_time_s", "steps_per_s", "device", "n_params", "torch_version", "error",
)
ID_COLUMNS = ("sweep", "job", "job_num", "status", "task", "model", "seq_len", "seed")


@dataclass
class Sweep:
    """One sweep dir and what its ``multirun.yaml`` says was swept."""

    path: Path
    label: str = ""
    task_overrides: list[str] = field(default_factory=list)
    sweeper_params: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


@dataclass
class SweepData:
    """Everything loaded: the sweeps, the runs table and the long curves table."""

    sweeps: list[Sweep]
    runs: pd.DataFrame
    curves: pd.DataFrame
    config_columns: list[str]


class NoSweepsFound(ValueError):
    """None of the given paths is, or contains, a sweep dir."""


# --------------------------------------------------------------------------- discovery
def _is_job_dir(path: Path) -> bool:
    return (path / ".hydra").is_dir()


def is_sweep_dir(path: Path) -> bool:
    """A sweep dir holds Hydra's ``multirun.yaml`` or job dirs with a ``.hydra/`` folder."""
    path = Path(path)
    if not path.is_dir():
        return False
    if (path / "multirun.yaml").is_file():
        return True
    try:
        return any(child.is_dir() and _is_job_dir(child) for child in path.iterdir())
    except OSError:
        return False


def find_sweeps(paths: list[str | os.PathLike]) -> list[Path]:
    """The sweep dirs named by ``paths``: each path is a sweep dir or is searched for them."""
    found: list[Path] = []
    for raw in paths:
        root = Path(raw)
        if not root.is_dir():
            log.debug("%s: not a directory", root)
            continue
        if is_sweep_dir(root):
            found.append(root)
            continue
        for dirpath, dirnames, _ in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            here = Path(dirpath)
            if here != root and is_sweep_dir(here):
                found.append(here)
                dirnames[:] = []  # a sweep's job dirs are not sweeps
    unique: list[Path] = []
    seen: set[Path] = set()
    for path in found:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(path)
    return unique


def job_dirs(sweep: Path) -> list[Path]:
    """The job dirs of a sweep, ordered by job number (numerically), then by name."""
    jobs = []
    for child in sweep.iterdir():
        if not child.is_dir() or child.name.startswith("."):
            continue
        if (
            child.name.isdigit()
            or _is_job_dir(child)
            or (child / "summary.json").exists()
            or (child / "metrics.csv").exists()
        ):
            jobs.append(child)
    return sorted(jobs, key=lambda p: (_job_num_from_name(p) is None, _job_num_from_name(p) or 0, p.name))


def _job_num_from_name(path: Path) -> int | None:
    return int(path.name) if path.name.isdigit() else None


# --------------------------------------------------------------------------- file readers
def _read_yaml(path: Path, problems: list[str]):
    if not path.is_file():
        return None
    try:
        return yaml.safe_load(path.read_text())
    except Exception as exc:  # noqa: BLE001 -- any unreadable file is a problem to report
        problems.append(f"{path.parent.name}/{path.name} unreadable ({type(exc).__name__})")
        return None


def flatten(tree, prefix: str = "") -> dict:
    """``{"model": {"name": "lstm"}}`` -> ``{"model.name": "lstm"}``; lists stay values."""
    flat: dict = {}
    if not isinstance(tree, dict):
        return flat
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def _parse_override(text: str) -> tuple[str, object] | None:
    if not isinstance(text, str) or "=" not in text:
        return None
    key, _, value = text.partition("=")
    key = key.lstrip("+~")
    if key.startswith("hydra.") or key.startswith("hydra/") or key in GROUPS_WITHOUT_KEY:
        return None
    try:
        parsed = yaml.safe_load(value)
    except yaml.YAMLError:
        parsed = value
    return GROUP_NAME_KEYS.get(key, key), parsed


def read_summary(path: Path) -> tuple[dict | None, str | None]:
    """``(summary, problem)``: the parsed summary.json, or None and why not."""
    if not path.is_file():
        return None, None
    try:
        data = json.loads(path.read_text())
    except Exception as exc:  # noqa: BLE001
        return None, f"summary.json unreadable ({type(exc).__name__}: {exc})"
    if not isinstance(data, dict):
        return None, "summary.json is not a JSON object"
    return data, None


def read_metrics(path: Path) -> tuple[pd.DataFrame | None, str | None]:
    """``(metrics, problem)``: the numeric rows of metrics.csv; malformed rows are skipped
    and reported, an unreadable file gives None."""
    if not path.is_file():
        return None, None
    try:
        raw = pd.read_csv(path, on_bad_lines="skip", dtype=str)
    except Exception as exc:  # noqa: BLE001
        return None, f"metrics.csv unreadable ({type(exc).__name__})"
    if "step" not in raw.columns:
        return None, "metrics.csv has no 'step' column"
    numeric = raw.apply(pd.to_numeric, errors="coerce")
    good = numeric.dropna(subset=["step"])
    notes = []
    with open(path, "rb") as fh:
        n_lines = sum(1 for line in fh if line.strip())
    skipped = (n_lines - 1 - len(raw)) + (len(raw) - len(good))  # unparsable lines + non-numeric steps
    if skipped:
        notes.append(f"{skipped} malformed row(s) skipped")
    garbled = int((numeric.loc[good.index].isna() & raw.loc[good.index].notna()).any(axis=1).sum())
    short = int(raw.loc[good.index].isna().any(axis=1).sum())
    if garbled:
        notes.append(f"{garbled} row(s) with non-numeric values")
    if short:
        notes.append(f"{short} incomplete row(s)")
    problem = "metrics.csv: " + ", ".join(notes) if notes else None
    good = good.astype({"step": "int64"}).sort_values("step", kind="stable").reset_index(drop=True)
    return good, problem


# --------------------------------------------------------------------------- one job
def read_job(job_dir: Path, job_key: str) -> tuple[dict, pd.DataFrame | None, list[str]]:
    """One runs-table row, the job's metrics (or None) and the row's config keys."""
    problems: list[str] = []
    hydra_dir = job_dir / ".hydra"
    config = _read_yaml(hydra_dir / "config.yaml", problems)
    overrides = _read_yaml(hydra_dir / "overrides.yaml", problems)
    hydra_cfg = _read_yaml(hydra_dir / "hydra.yaml", problems)
    summary, summary_problem = read_summary(job_dir / "summary.json")
    metrics, metrics_problem = read_metrics(job_dir / "metrics.csv")
    problems += [p for p in (summary_problem, metrics_problem) if p]

    row: dict = {}
    if summary and isinstance(summary.get("config"), dict):
        # summary.json keeps the *resolved* config; Hydra's .hydra/config.yaml keeps ${...} as typed
        config = summary["config"]
    if isinstance(config, dict):
        row.update(flatten(config))
    else:
        problems.append("no .hydra/config.yaml")
    # fill config keys the config did not give: from summary.json, then from the overrides
    if summary:
        for skey, ckey in SUMMARY_TO_CONFIG.items():
            if row.get(ckey) is None and summary.get(skey) is not None:
                row[ckey] = summary[skey]
    if not isinstance(overrides, list):
        overrides = summary.get("overrides") if summary and isinstance(summary.get("overrides"), list) else []
    for item in overrides:
        parsed = _parse_override(item)
        if parsed and row.get(parsed[0]) is None:
            row[parsed[0]] = parsed[1]
    config_keys = list(row)

    job_num = _job_num_from_name(job_dir)
    try:
        job_num = int(hydra_cfg["hydra"]["job"]["num"])
    except (TypeError, KeyError, ValueError):
        pass

    if summary is not None:
        status = str(summary.get("status") or "unknown")
        for key in RESULT_COLUMNS:
            row[key] = summary.get(key)
        for key, value in summary.items():  # other results (e.g. a GAN's fid) as they are
            if key not in row and key not in _NOT_RESULTS and not isinstance(value, (dict, list)):
                row[key] = value
    elif summary_problem:
        status = CORRUPT
    elif (job_dir / "error.txt").is_file():
        status = "failed"
    else:
        status = MISSING
        problems.append("no summary.json")
    if status == "failed" and not row.get("error") and (job_dir / "error.txt").is_file():
        lines = (job_dir / "error.txt").read_text(errors="replace").strip().splitlines()
        row["error"] = lines[-1] if lines else "error.txt is empty"
    if status == "completed" and metrics is None and not metrics_problem:
        problems.append("completed but no metrics.csv")
    if row.get("steps_done") is None and metrics is not None and len(metrics):
        row["steps_done"] = int(metrics["step"].max())

    row.update(
        job=job_key,
        job_num=job_num,
        job_dir=str(job_dir),
        status=status,
        overrides=" ".join(str(o) for o in overrides),
        problems="; ".join(problems),
    )
    row["model"] = row.get("model.name")
    return row, metrics, config_keys


# --------------------------------------------------------------------------- sweeps
def _sweep_info(path: Path) -> Sweep:
    sweep = Sweep(path=path)
    data = _read_yaml(path / "multirun.yaml", sweep.problems)
    hydra_cfg = data.get("hydra", {}) if isinstance(data, dict) else {}
    try:
        task = hydra_cfg["overrides"]["task"] or []
        sweep.task_overrides = [str(o) for o in task]
    except (TypeError, KeyError):
        pass
    try:
        params = hydra_cfg["sweeper"]["params"] or {}
        sweep.sweeper_params = {str(k): str(v) for k, v in params.items()}
    except (TypeError, KeyError, AttributeError):
        pass
    return sweep


def _labels(paths: list[Path]) -> list[str]:
    if len(paths) == 1:
        return [paths[0].resolve().name or str(paths[0])]
    resolved = [p.resolve() for p in paths]
    common = Path(os.path.commonpath(resolved))
    return [str(p.relative_to(common)) if p != common else p.name for p in resolved]


def _typed(df: pd.DataFrame) -> pd.DataFrame:
    """Object columns -> their type: ints (with gaps) as nullable Int64, numbers as float64,
    booleans as boolean; strings and mixed columns stay object."""
    for col in df.columns:
        values = df[col].dropna()
        if not len(values):
            continue
        if all(isinstance(v, bool) for v in values):
            df[col] = df[col].astype("boolean")
        elif all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            df[col] = df[col].astype("Int64")
        elif all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            df[col] = df[col].astype("float64")
    return df


def _why_not(path: Path) -> str:
    if not path.exists():
        return f"{path} does not exist"
    if not path.is_dir():
        return f"{path} is not a directory"
    if _is_job_dir(path) and (path.parent / "multirun.yaml").is_file():
        return f"{path} is a job dir; give its sweep dir {path.parent}"
    if _is_job_dir(path):
        return f"{path} is a single run, not a sweep: give the dir of a `sweeplab -m ...` sweep"
    return f"{path} holds no sweep dir (one with multirun.yaml or job dirs with .hydra/)"


def load_sweeps(paths: list[str | os.PathLike]) -> SweepData:
    """Find the sweeps under ``paths`` and read all their jobs. Raises NoSweepsFound."""
    empty = [p for p in paths if not find_sweeps([p])]
    sweep_paths = find_sweeps(paths)
    if not sweep_paths:
        raise NoSweepsFound("no sweep found: " + "; ".join(_why_not(Path(p)) for p in paths))
    for path in empty:
        log.warning("skipped: %s", _why_not(Path(path)))
    sweeps = [_sweep_info(p) for p in sweep_paths]
    rows, curve_parts = [], []
    config_columns: list[str] = []
    for sweep, label in zip(sweeps, _labels(sweep_paths)):
        sweep.label = label
        for job_dir in job_dirs(sweep.path):
            key = job_dir.name if len(sweeps) == 1 else f"{label}/{job_dir.name}"
            row, metrics, keys = read_job(job_dir, key)
            config_columns += [k for k in keys if k not in config_columns]
            row["sweep"] = label
            rows.append(row)
            if metrics is not None and len(metrics):
                cols = [c for c in metrics.columns if c != "step"]
                long = metrics.melt(id_vars="step", value_vars=cols, var_name="metric", value_name="value")
                long.insert(0, "job", key)
                curve_parts.append(long.dropna(subset=["value"]))
        log.info("%s: %d job dir(s)", sweep.path, sum(1 for r in rows if r["sweep"] == label))

    runs = pd.DataFrame(rows, dtype=object)
    if runs.empty:
        runs = pd.DataFrame(columns=[*ID_COLUMNS, "problems"])
    for col in (*ID_COLUMNS, *RESULT_COLUMNS, "problems", "overrides"):
        if col not in runs.columns:
            runs[col] = None
    front = [c for c in ID_COLUMNS]
    runs = runs[front + [c for c in runs.columns if c not in front]]
    runs = _typed(runs.reset_index(drop=True))
    for col in ("final_eval_acc", "final_eval_loss", "best_eval_acc", "wall_time_s", "steps_per_s"):
        runs[col] = pd.to_numeric(runs[col], errors="coerce")
    if curve_parts:
        curves = pd.concat(curve_parts, ignore_index=True)
    else:
        curves = pd.DataFrame({"job": pd.Series(dtype=str), "step": pd.Series(dtype="int64"),
                               "metric": pd.Series(dtype=str), "value": pd.Series(dtype=float)})
    return SweepData(sweeps=sweeps, runs=runs, curves=curves, config_columns=config_columns)
