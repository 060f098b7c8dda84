"""RNN-vs-LSTM comparison tables: seq_len x model pivots of mean ± std (n) over seeds.

Only palindrome rows are tabulated (other tasks, e.g. ``gan``, are left to their own tables).
Statistics use the *completed* runs; every other run of a cell (failed, diverged, running,
missing...) is counted in the cell's text, so nothing disappears silently. ``std`` is the
sample standard deviation over seeds (ddof = 1).
"""

from __future__ import annotations

import math

import pandas as pd

PALINDROME = "palindrome"
#: the palindrome task's primary dimensions; any other config key that varies is "extra"
PRIMARY_KEYS = ("task", "model", "model.name", "seq_len", "seed")
MODEL_ORDER = ("rnn", "lstm", "lstm_cudnn")
#: metric -> its title in reports
METRICS = {
    "final_eval_acc": "final held-out accuracy",
    "best_eval_acc": "best held-out accuracy",
    "step_to_99": "step at which held-out accuracy first reached 0.99",
}
#: tolerance of the threshold comparison: a mean of (1.00 + 1.00 + 0.97) / 3 is 0.99
EPS = 1e-9
# config keys that describe how a run was executed, not what was run
_NOT_GROUPING = ("trainer.device", "trainer.checkpoint_every")


def palindrome_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """The palindrome rows (also rows of unknown task that do have a model and a length)."""
    if runs.empty:
        return runs
    task = runs["task"]
    known_shape = runs["model"].notna() & runs["seq_len"].notna()
    return runs[(task == PALINDROME) | (task.isna() & known_shape)]


def model_sort_key(name) -> tuple:
    name = str(name)
    return (MODEL_ORDER.index(name) if name in MODEL_ORDER else len(MODEL_ORDER), name)


def varied_keys(runs: pd.DataFrame, config_columns: list[str]) -> list[str]:
    """Config keys, besides model/seq_len/seed, that take more than one value for one model.

    A key that only differs *between* models (the LSTM's forget_bias, a per-model default
    hidden size) is a property of the model, not an extra grouping level.
    """
    runs = palindrome_runs(runs)
    keys = []
    for col in config_columns:
        if col in PRIMARY_KEYS or col in _NOT_GROUPING or col not in runs.columns:
            continue
        values = runs[[col, "model"]].dropna()
        try:
            counts = values.groupby("model", dropna=True)[col].nunique()
        except TypeError:  # unhashable (a list-valued setting): not a grouping key
            continue
        if (counts > 1).any():
            keys.append(col)
    return keys


def _excluded_text(statuses: pd.Series) -> str:
    counts = statuses.fillna("unknown").astype(str).value_counts()
    return ", ".join(f"{counts[status]} {status}" for status in sorted(counts.index))


def cell_stats(runs: pd.DataFrame, extra_keys: list[str], metric: str) -> pd.DataFrame:
    """Tidy statistics of ``metric`` per (extra keys..., model, seq_len).

    Columns: the keys, ``metric``, ``mean``, ``std``, ``n`` (completed runs with a value),
    ``n_completed``, ``n_runs`` (all rows of the cell) and ``excluded`` (e.g. "1 failed").
    """
    runs = palindrome_runs(runs)
    keys = [*extra_keys, "model", "seq_len"]
    columns = [*keys, "metric", "mean", "std", "n", "n_completed", "n_runs", "excluded"]
    runs = runs.dropna(subset=["model", "seq_len"])
    if runs.empty:
        return pd.DataFrame(columns=columns)
    records = []
    for group, cell in runs.groupby(keys, dropna=False, sort=True):
        group = group if isinstance(group, tuple) else (group,)
        done = cell[cell["status"] == "completed"]
        values = pd.to_numeric(done[metric], errors="coerce").dropna().astype(float)
        records.append(
            dict(
                zip(keys, group),
                metric=metric,
                mean=values.mean() if len(values) else math.nan,
                std=values.std(ddof=1) if len(values) > 1 else math.nan,
                n=len(values),
                n_completed=len(done),
                n_runs=len(cell),
                excluded=_excluded_text(cell.loc[cell["status"] != "completed", "status"]),
            )
        )
    stats = pd.DataFrame.from_records(records, columns=columns)
    order = stats["model"].map(model_sort_key)
    stats = stats.assign(_m=order).sort_values([*extra_keys, "_m", "seq_len"], kind="stable")
    return stats.drop(columns="_m").reset_index(drop=True)


def format_cell(row, metric: str) -> str:
    """``0.993 ± 0.004 (n=3)``; for step_to_99 ``1250 ± 354 (2 of 3 reached)``."""
    is_step = metric == "step_to_99"
    fmt = "{:.0f}" if is_step else "{:.3f}"
    n = int(row["n"])
    if n == 0:
        text = "never" if is_step and row["n_completed"] else "—"
    else:
        text = fmt.format(row["mean"])
        if n > 1:
            text += " ± " + fmt.format(row["std"])
    if is_step:
        text += f" ({n} of {int(row['n_completed'])} reached)" if row["n_completed"] else ""
    elif n:
        text += f" (n={n})"
    if row["excluded"]:
        text += f" [{row['excluded']}]"
    return text


def pivot(stats: pd.DataFrame, extra_keys: list[str], metric: str) -> pd.DataFrame:
    """Formatted pivot: one row per (extra keys..., T), one column per model."""
    if stats.empty:
        return pd.DataFrame(columns=[*extra_keys, "T"])
    cells = stats.assign(cell=[format_cell(r, metric) for _, r in stats.iterrows()])
    for key in extra_keys:  # a key absent from some runs: keep those rows, under "—"
        if cells[key].isna().any():
            cells[key] = [("—" if pd.isna(v) else str(v)) for v in cells[key]]
    table = cells.pivot_table(
        index=[*extra_keys, "seq_len"], columns="model", values="cell", aggfunc="first", fill_value="—"
    )
    table = table[sorted(table.columns, key=model_sort_key)]
    table.columns.name = None
    table = table.reset_index().rename(columns={"seq_len": "T"})
    return table


def longest_solved(stats: pd.DataFrame, extra_keys: list[str], threshold: float) -> pd.DataFrame:
    """Per (extra keys..., model): the largest T whose mean final accuracy >= threshold.

    Columns: the keys, ``longest_T`` (NA if none), ``tested`` (the T with a mean),
    ``unsolved_below`` (smaller T that were not solved), ``next_T`` and ``next_mean``/``next_std``
    (the first tested T above ``longest_T``), ``best_mean`` and ``best_T``.
    """
    keys = [*extra_keys, "model"]
    records = []
    stats = stats.dropna(subset=["mean"])
    if stats.empty:
        return pd.DataFrame(columns=[*keys, "longest_T", "tested", "unsolved_below", "next_T",
                                     "next_mean", "next_std", "best_T", "best_mean", "threshold"])
    for group, rows in stats.groupby(keys, dropna=False, sort=False):
        group = group if isinstance(group, tuple) else (group,)
        rows = rows.sort_values("seq_len")
        solved = rows[rows["mean"] >= threshold - EPS]
        longest = int(solved["seq_len"].max()) if len(solved) else None
        above = rows[rows["seq_len"] > longest] if longest is not None else rows.iloc[:0]
        below = rows[(rows["seq_len"] < (longest or 0)) & (rows["mean"] < threshold - EPS)]
        best = rows.loc[rows["mean"].idxmax()]
        records.append(
            dict(
                zip(keys, group),
                longest_T=longest,
                tested=[int(t) for t in rows["seq_len"]],
                unsolved_below=[int(t) for t in below["seq_len"]],
                next_T=int(above["seq_len"].iloc[0]) if len(above) else None,
                next_mean=float(above["mean"].iloc[0]) if len(above) else None,
                next_std=float(above["std"].iloc[0]) if len(above) else None,
                best_T=int(best["seq_len"]),
                best_mean=float(best["mean"]),
                threshold=threshold,
            )
        )
    out = pd.DataFrame.from_records(records)
    for col in ("longest_T", "next_T", "best_T"):
        out[col] = out[col].astype("Int64")
    return out


def finding(row, extra_keys: list[str]) -> str:
    """``rnn: mean accuracy >= 0.99 up to T = 15 (T = 20: 0.612 ± 0.041)``."""
    prefix = ", ".join(f"{k}={row[k]}" for k in extra_keys)
    head = f"{prefix}, {row['model']}" if prefix else f"{row['model']}"
    thr = f"{row['threshold']:g}"
    tested = row["tested"]
    span = f"T = {tested[0]}" if len(tested) == 1 else f"T = {tested[0]}–{tested[-1]}"
    if pd.isna(row["longest_T"]):
        return (f"{head}: mean accuracy >= {thr} at none of the tested lengths ({span}); "
                f"best mean {row['best_mean']:.3f} at T = {row['best_T']}")
    text = f"{head}: mean accuracy >= {thr} up to T = {row['longest_T']}"
    if pd.isna(row["next_T"]):
        text += " (the longest tested)"
    else:
        nxt = f"{row['next_mean']:.3f}"
        if not pd.isna(row["next_std"]):
            nxt += f" ± {row['next_std']:.3f}"
        text += f" (T = {row['next_T']}: {nxt})"
    if row["unsolved_below"]:
        text += "; but not at T = " + ", ".join(str(t) for t in row["unsolved_below"])
    return text


def findings(solved: pd.DataFrame, extra_keys: list[str]) -> list[str]:
    return [finding(row, extra_keys) for _, row in solved.iterrows()]


def _verdict(solved: pd.DataFrame) -> str | None:
    if len(solved) < 2:
        return None
    lengths = {row["model"]: (0 if pd.isna(row["longest_T"]) else int(row["longest_T"]))
               for _, row in solved.iterrows()}
    ranked = sorted(lengths.items(), key=lambda kv: (-kv[1], model_sort_key(kv[0])))
    if ranked[0][1] == ranked[1][1]:
        return "no model solves a longer palindrome than the others (" + ", ".join(
            f"{m}: T = {t or 'none'}" for m, t in ranked) + ")."
    best, rest = ranked[0], ranked[1:]
    return (f"**{best[0]}** remembers longest: it solves T = {best[1]}, against "
            + ", ".join(f"{m}: T = {t if t else 'none'}" for m, t in rest) + ".")


def verdicts(solved: pd.DataFrame, extra_keys: list[str]) -> list[str]:
    """One sentence per value of the extra keys naming the model that remembers longer
    (at the threshold of ``solved``); none where there is a single model."""
    if solved.empty:
        return []
    if not extra_keys:
        text = _verdict(solved)
        return [text[0].upper() + text[1:]] if text else []
    out = []
    for group, rows in solved.groupby(extra_keys, dropna=False, sort=False):
        group = group if isinstance(group, tuple) else (group,)
        text = _verdict(rows)
        if text:
            out.append(", ".join(f"{k}={v}" for k, v in zip(extra_keys, group)) + ": " + text)
    return out
