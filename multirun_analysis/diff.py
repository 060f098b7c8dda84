"""`multirun-analysis diff BASE NEW`: two palindrome sweeps side by side, aligned on (model, T, seed).

Per cell (model, T): the success rates of both with the change and its Newcombe (1998) interval, and
the paired change in final accuracy over the seeds both ran; per model: the T50 change with its
interval (stats.t50_difference, the report's calibrated method); per run: both accuracies. The
config and provenance differences say what changed between the sweeps. A change is flagged an improvement or a regression only when its interval
excludes zero.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from sweeplab import contract

from . import stats
from .discover import UsageError
from .document import Document
from .pipeline import OutputError, check_writable
from .runs import SweepData, load_sweeps
from .sections import Options, label, model_sort_key, select
from .sections import memory as pal

log = logging.getLogger(__name__)

IMPROVED, REGRESSED, NO_CLEAR_CHANGE = "improved", "regressed", "no clear change"


def newcombe_interval(k1, n1, k2, n2, z: float = 1.96) -> tuple[float, float, float]:
    """(p2 - p1, low, high): Newcombe's (1998, method 10) interval for a difference of two proportions."""
    if not n1 or not n2:
        return math.nan, math.nan, math.nan
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = stats.wilson_interval(k1, n1, z)
    l2, u2 = stats.wilson_interval(k2, n2, z)
    d = p2 - p1
    return d, d - math.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2), d + math.sqrt((u2 - p2) ** 2 + (p1 - l1) ** 2)


def _flag(low: float, high: float) -> str:
    if pd.isna(low) or pd.isna(high):
        return NO_CLEAR_CHANGE
    return IMPROVED if low > 0 else REGRESSED if high < 0 else NO_CLEAR_CHANGE


@dataclass
class Side:
    name: str
    data: SweepData
    runs: pd.DataFrame  # palindrome rows with _counted/_solved/_score
    success: pd.DataFrame
    memory: pd.DataFrame
    estimates: dict


@dataclass
class Diff:
    base: Side
    new: Side
    keys: list[str]
    cells: pd.DataFrame
    per_run: pd.DataFrame
    memory: pd.DataFrame
    config_changes: pd.DataFrame
    provenance_changes: pd.DataFrame
    only: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)


def _side(name: str, path, options: Options) -> Side:
    data = load_sweeps([path])
    runs = pal.palindrome_runs(data.runs)
    if runs.empty:
        raise UsageError(f"{path} holds no palindrome run: `diff` compares two palindrome sweeps")
    return Side(name, data, pal.with_outcome(runs, options), pd.DataFrame(), pd.DataFrame(), {})


def _value_sets(runs: pd.DataFrame, columns: list[str]) -> dict[str, str]:
    out = {}
    for col in columns:
        if col in runs and runs[col].notna().any():
            values = runs[col].dropna().astype(str).unique()
            out[col] = ", ".join(sorted(values))
    return out


def _changes(base: pd.DataFrame, new: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    b, n = _value_sets(base, columns), _value_sets(new, columns)
    rows = [{"setting": k, "base": b.get(k, "—"), "new": n.get(k, "—")} for k in sorted(set(b) | set(n))
            if b.get(k) != n.get(k)]  # fmt: skip
    return pd.DataFrame(rows, columns=["setting", "base", "new"])


def compare(base_path, new_path, options: Options) -> Diff:
    if Path(base_path).resolve() == Path(new_path).resolve():
        log.warning("%s is compared with itself: every change is zero; give the base and the new sweep", new_path)
    base, new = _side("base", base_path, options), _side("new", new_path, options)
    keys = [k for k in dict.fromkeys(
        pal.grouping_keys(base.runs, base.data.config_columns) + pal.grouping_keys(new.runs, new.data.config_columns))
        if k in base.runs and k in new.runs]  # fmt: skip
    for side in (base, new):
        side.success = pal.success_rates(side.runs, keys, options)
        side.memory, side.estimates = pal.memory_lengths(side.runs, keys, options)

    cell_keys = [*keys, "model", "seq_len"]
    merged = pd.merge(base.success, new.success, on=cell_keys, how="outer", suffixes=("_base", "_new"))
    cells = []
    for _, r in merged.iterrows():
        kb, nb = int(r["solved_base"] or 0) if pd.notna(r["solved_base"]) else 0, r["n_base"]
        kn, nn = int(r["solved_new"] or 0) if pd.notna(r["solved_new"]) else 0, r["n_new"]
        nb, nn = (0 if pd.isna(nb) else int(nb)), (0 if pd.isna(nn) else int(nn))
        change, low, high = newcombe_interval(kb, nb, kn, nn)
        where = tuple(r[k] for k in cell_keys)
        acc_b = select(base.runs[base.runs["status"].astype(str) == contract.COMPLETED], cell_keys, where)
        acc_n = select(new.runs[new.runs["status"].astype(str) == contract.COMPLETED], cell_keys, where)
        pairs = pd.merge(acc_b[["seed", "_score"]].dropna(), acc_n[["seed", "_score"]].dropna(), on="seed",
                         suffixes=("_b", "_n")).drop_duplicates("seed")  # fmt: skip
        effect = stats.paired_effect(pairs["_score_n"], pairs["_score_b"], n_boot=options.n_boot)
        flag = _flag(low, high)
        # accuracy alone names a change only outside the solved band (0.9995 -> 1.0 is no improvement)
        # and with an interval of some width (identical changes in two pairs are not evidence)
        solved_at = pal.threshold(contract.task_spec(pal.PALINDROME), options)
        in_band = bool(len(pairs)) and bool((pairs[["_score_b", "_score_n"]] >= solved_at).all().all())
        if flag == NO_CLEAR_CHANGE and effect.n_pairs >= 2 and not in_band and effect.ci_high > effect.ci_low:
            accuracy_flag = _flag(effect.ci_low, effect.ci_high)
            flag = f"accuracy {'up' if accuracy_flag == IMPROVED else 'down'}" if accuracy_flag != flag else flag
        cells.append({**dict(zip(cell_keys, where)), "base_solved": kb, "base_n": nb, "new_solved": kn, "new_n": nn,
                      "rate_change": change, "ci_low": low, "ci_high": high, "acc_change": effect.mean_diff,
                      "acc_ci_low": effect.ci_low, "acc_ci_high": effect.ci_high, "n_pairs": effect.n_pairs,
                      "flag": flag})  # fmt: skip
    cells = pal.sort_cells(pd.DataFrame(cells), keys, ["seq_len"]) if cells else pd.DataFrame()

    run_keys = [*cell_keys, "seed"]
    columns = [*run_keys, "status", "_score", "_solved", "job"]
    per_run = pd.merge(base.runs[columns], new.runs[columns], on=run_keys, how="outer", suffixes=("_base", "_new"))
    per_run = per_run.rename(columns={"_score_base": "acc_base", "_score_new": "acc_new", "_solved_base": "solved_base",
                                      "_solved_new": "solved_new"})  # fmt: skip
    per_run["acc_change"] = per_run["acc_new"] - per_run["acc_base"]
    per_run = pal.sort_cells(per_run, keys, ["seq_len", "seed"])

    memory = []
    for group in sorted(
        set(base.estimates) | set(new.estimates), key=lambda g: (*map(str, g[:-1]), model_sort_key(g[-1]))
    ):
        b, n = base.estimates.get(group), new.estimates.get(group)
        row = {**dict(zip([*keys, "model"], group)),
               "base": pal.t50_text(b, _solved(base.memory, keys, group)) if b else "not run",
               "new": pal.t50_text(n, _solved(new.memory, keys, group)) if n else "not run",
               "change": math.nan, "ci_low": math.nan, "ci_high": math.nan, "flag": NO_CLEAR_CHANGE}  # fmt: skip
        if b and n and b.t50 is not None and n.t50 is not None:
            rb = select(base.runs[base.runs["_counted"]], [*keys, "model"], group)
            rn = select(new.runs[new.runs["_counted"]], [*keys, "model"], group)
            d = stats.t50_difference(rn["seq_len"].astype(float), rn["_solved"], rb["seq_len"].astype(float),
                                     rb["_solved"])  # fmt: skip
            if d is not None:
                row.update(change=d.estimate, ci_low=d.ci_low, ci_high=d.ci_high, flag=_flag(d.ci_low, d.ci_high))
        elif b and n:
            row["flag"] = _censoring_flag(b, n)
        memory.append(row)
    memory = pd.DataFrame(memory)

    config_cols = [c for c in dict.fromkeys(base.data.config_columns + new.data.config_columns)
                   if contract.groups_results(c) and c not in ("seq_len", "seed")]  # fmt: skip
    provenance_cols = [c for c in dict.fromkeys([*base.runs.columns, *new.runs.columns])
                       if c.startswith("provenance.")] + ["torch_version", "device"]  # fmt: skip
    only = []
    for name, side, other in (("base", base, new), ("new", new, base)):
        mine = set(map(tuple, side.success[cell_keys].astype(str).to_numpy()))
        theirs = set(map(tuple, other.success[cell_keys].astype(str).to_numpy()))
        for cell in sorted(mine - theirs):
            only.append(f"only in {name}: {label(cell_keys, cell)}")
    return Diff(
        base,
        new,
        keys,
        cells,
        per_run,
        memory,
        _changes(base.runs, new.runs, config_cols),
        _changes(base.runs, new.runs, provenance_cols),
        only,
    )


def _solved(memory: pd.DataFrame, keys: list[str], group: tuple) -> int:
    hit = select(memory, [*keys, "model"], group)
    return int(hit["solved"].iloc[0]) if len(hit) else 0


def _censoring_flag(base: stats.T50Estimate, new: stats.T50Estimate) -> str:
    """A T50 that moved across a censoring bound: below -> estimate -> above is an improvement."""
    rank = {stats.BELOW: 0, stats.NONE: 1, stats.ABOVE: 2}
    b, n = rank[base.censored], rank[new.censored]
    if base.t50 is None and base.censored == stats.NONE or new.t50 is None and new.censored == stats.NONE:
        return NO_CLEAR_CHANGE
    if n > b and (
        new.censored != stats.ABOVE or base.t50 is None or (not base.open_above and base.ci_high <= new.tested_max)
    ):
        return IMPROVED
    if n < b and (
        base.censored != stats.ABOVE or new.t50 is None or (not new.open_above and new.ci_high <= base.tested_max)
    ):
        return REGRESSED
    return NO_CLEAR_CHANGE


# --------------------------------------------------------------------------- the document
def _rate(k, n) -> str:
    if not n:
        return "—"
    low, high = stats.wilson_interval(k, n)
    return f"{k}/{n} ({low:.2f}–{high:.2f})"


def _signed(x, low, high, digits=2) -> str:
    if pd.isna(x):
        return "—"
    return f"{x:+.{digits}f} [{low:+.{digits}f}, {high:+.{digits}f}]" if pd.notna(low) else f"{x:+.{digits}f}"


def document(diff: Diff, base_path, new_path) -> Document:
    doc = Document(f"Sweep comparison: {Path(new_path).name} against {Path(base_path).name}")
    doc.paragraph(f"base: `{base_path}` ({len(diff.base.runs)} palindrome runs); new: `{new_path}` "
                  f"({len(diff.new.runs)} palindrome runs). Runs are aligned on (model, T, seed); a change is flagged "
                  "only when its 95% interval excludes zero.")  # fmt: skip
    flags = pd.concat([diff.cells.get("flag", pd.Series(dtype=str)), diff.memory.get("flag", pd.Series(dtype=str))])
    improved = int(flags.isin([IMPROVED, "accuracy up"]).sum())
    regressed = int(flags.isin([REGRESSED, "accuracy down"]).sum())
    doc.heading("Summary")
    doc.paragraph(f"**{improved} improvement(s)** and **{regressed} regression(s)** "
                  f"over {len(diff.cells)} cells and {len(diff.memory)} memory lengths.")  # fmt: skip
    lines = [f"{r['model']}: {r['base']} → {r['new']}" + (f" (change {_signed(r['change'], r['ci_low'], r['ci_high'], 1)})"
             if pd.notna(r["change"]) else "") + f": {r['flag']}" for _, r in diff.memory.iterrows()]  # fmt: skip
    doc.bullets([(f"{label(diff.keys, tuple(r[k] for k in diff.keys))}, " if diff.keys else "") + line
                 for (_, r), line in zip(diff.memory.iterrows(), lines)])  # fmt: skip
    doc.bullets(diff.only)

    doc.heading("What differs between the sweeps")
    doc.heading("Settings", 3)
    if len(diff.config_changes):
        doc.table(diff.config_changes)
    else:
        doc.paragraph("No setting that can change a result differs.")
    doc.heading("Provenance (code and environment)", 3)
    if len(diff.provenance_changes):
        doc.table(diff.provenance_changes)
    else:
        recorded = any(c.startswith("provenance.") for c in [*diff.base.runs.columns, *diff.new.runs.columns])
        doc.paragraph("Same code and environment." if recorded else
                      "Neither sweep recorded its provenance (runs written before sweeplab recorded it).")  # fmt: skip

    doc.heading("Per cell (model, T)")
    doc.paragraph("Success rate k/n (Wilson 95%) in each sweep, the change in rate (Newcombe 95%), and the mean "
                  "change in final accuracy over the seeds both completed (bootstrap 95%).")  # fmt: skip
    if len(diff.cells):
        table = pd.DataFrame({
            **{k: diff.cells[k] for k in [*diff.keys, "model"]}, "T": diff.cells["seq_len"],
            "base": [_rate(k, n) for k, n in zip(diff.cells["base_solved"], diff.cells["base_n"])],
            "new": [_rate(k, n) for k, n in zip(diff.cells["new_solved"], diff.cells["new_n"])],
            "rate change": [_signed(*v) for v in zip(diff.cells["rate_change"], diff.cells["ci_low"], diff.cells["ci_high"])],
            "accuracy change": [_signed(x, lo, hi, 3) for x, lo, hi in zip(diff.cells["acc_change"],
                                diff.cells["acc_ci_low"], diff.cells["acc_ci_high"])],
            "pairs": diff.cells["n_pairs"], "flag": diff.cells["flag"],
        })  # fmt: skip
        doc.table(table)
    doc.heading("Per run (model, T, seed)")
    shown = diff.per_run.rename(columns={"seq_len": "T"})
    doc.table(shown[[c for c in shown.columns if c not in ("job_base", "job_new")]])
    doc.heading("Files")
    doc.bullets([f"`{p.name}`" for p in diff.files])
    return doc


def run_diff(base_path, new_path, out: str | os.PathLike | None, options: Options) -> tuple[Path, Path]:
    """Compare, write `diff.md`, `diff.html` and the CSVs into `out` (default NEW/diff); the report paths."""
    out_dir = Path(out) if out is not None else Path(new_path) / "diff"
    diff = compare(base_path, new_path, options)
    check_writable(out_dir, chosen=out is not None)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for name, table in (
            ("diff_cells", diff.cells),
            ("diff_runs", diff.per_run),
            ("diff_memory_length", diff.memory),
            ("diff_settings", diff.config_changes),
            ("diff_provenance", diff.provenance_changes),
        ):
            table.to_csv(out_dir / f"{name}.csv", index=False)
            diff.files.append(out_dir / f"{name}.csv")
        doc = document(diff, base_path, new_path)
        (out_dir / "diff.md").write_text(doc.to_markdown(out_dir))
        (out_dir / "diff.html").write_text(doc.to_html())
    except OSError as exc:
        raise OutputError(f"cannot write the comparison into {out_dir}: {exc.strerror or exc}; "
                          "choose another directory with --out DIR") from exc  # fmt: skip
    return out_dir / "diff.md", out_dir / "diff.html"
