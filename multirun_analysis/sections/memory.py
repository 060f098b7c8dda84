"""The memory-task section: which model remembers longer, and how sure we are (docs/ANALYSIS.md).

It serves every task whose spec (sweeplab.contract.TaskSpec) declares a solved rule and a difficulty
axis (the length T, `seq_len`): the palindrome, the adding problem, the copy task, and any task added
the same way, with no section of its own. Each task present gets its own section.

A run *solves* its length T when its final value of the solved metric passes the threshold (the
palindrome: held-out accuracy >= 0.99). Per model and T:
the success rate k/n with a Wilson interval; per model: T50, the length half the runs solve, from a
logistic curve with a calibrated interval (or the censored answer); per T: the paired effect of one
model against another over seeds. The verdict says only what these intervals support.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sweeplab import contract

from .. import stats
from ..runs import PENDING
from . import Options, SectionResult, groups, label, model_sort_key, select, varying_keys

PALINDROME = "palindrome"
#: conf/config.yaml's default task: a planned job whose overrides name no task runs it
DEFAULT_TASK = PALINDROME
PRIMARY_KEYS = ("task", "model.name", "seq_len", "seed")
#: a mean of (1.00 + 1.00 + 0.97) / 3 is 0.99: compare with a tolerance
EPS = 1e-9
SUCCESS_COLUMNS = ["model", "seq_len", "solved", "n", "rate", "ci_low", "ci_high"]
MEMORY_COLUMNS = ["model", "t50", "ci_low", "ci_high", "censored", "tested_min", "tested_max", "n", "solved", "note"]
PAIRED_COLUMNS = ["seq_len", "model_a", "model_b", "mean_diff", "ci_low", "ci_high", "p_a_better", "n_pairs",
                  "wilcoxon_p"]  # fmt: skip
ACCURACY_COLUMNS = ["model", "seq_len", "n", "mean", "median", "std", "ci_low", "ci_high"]


def memory_specs() -> list[contract.TaskSpec]:
    """The tasks this section serves, the palindrome first."""
    specs = [s for s in contract.task_specs().values() if s.memory_task]
    return sorted(specs, key=lambda s: (s.name != PALINDROME, s.name))


def _tasks(runs: pd.DataFrame) -> pd.Series:
    """Each row's task (a row that names none: the default task, as a job without task= runs it)."""
    if "task" not in runs:
        return pd.Series(DEFAULT_TASK, index=runs.index, dtype=object)
    return runs["task"].astype(object).where(runs["task"].notna(), DEFAULT_TASK)


def task_runs(runs: pd.DataFrame, task: str = PALINDROME) -> pd.DataFrame:
    """The rows of `task` that name their model and a whole-number length."""
    if runs.empty:
        return runs
    mine = _tasks(runs) == task
    # a job refused for its settings (seq_len=abc) is listed with the runs that did not complete, not counted here
    length = pd.to_numeric(runs["seq_len"].astype(object), errors="coerce")
    whole = (length.notna() & (length == length.round())).astype(bool)
    return runs[mine.fillna(False).astype(bool) & runs["model"].notna() & whole]


palindrome_runs = task_runs  # `multirun-analysis diff` compares palindrome sweeps


def solved_text(spec: contract.TaskSpec, options: Options) -> str:
    """`final held-out accuracy >= 0.99`: the solved rule in words."""
    rule = spec.solved
    return f"final {rule.what or rule.metric} {'<=' if rule.lower_is_better else '>='} {threshold(spec, options):g}"


def threshold(spec: contract.TaskSpec, options: Options) -> float:
    """The task's solved threshold, or the one given on the command line (--threshold)."""
    return spec.solved.threshold if options.threshold is None else options.threshold


def counted_statuses(options: Options) -> tuple[str, ...]:
    """Statuses that count in a success rate: a diverged or failed run did not learn T."""
    return (contract.COMPLETED,) if options.completed_only else (contract.COMPLETED, contract.DIVERGED, contract.FAILED)


def with_outcome(runs: pd.DataFrame, options: Options) -> pd.DataFrame:
    """The runs with `_counted`, `_solved` and `_score` (the final value of each row's task's solved
    metric); rows that already have them are returned as they are."""
    if "_solved" in runs:
        return runs
    status = runs["status"].astype(object)
    counted = status.isin(counted_statuses(options))
    score = pd.Series(np.nan, index=runs.index, dtype=float)
    passed = pd.Series(False, index=runs.index, dtype=bool)
    for name, rows in runs.groupby(_tasks(runs), sort=False) if len(runs) else []:
        spec = contract.task_spec(name)
        if spec is None or spec.solved is None:
            continue
        column = spec.solved.summary_key
        value = pd.to_numeric(rows[column], errors="coerce") if column in rows else pd.Series(np.nan, index=rows.index)
        limit = threshold(spec, options)
        ok = value <= limit + EPS if spec.solved.lower_is_better else value >= limit - EPS
        score[rows.index], passed[rows.index] = value.astype(float), ok.fillna(False).astype(bool)
    solved = counted & (status == contract.COMPLETED) & passed
    return runs.assign(_counted=counted.astype(bool), _solved=solved.astype(bool), _score=score,
                       seq_len=runs["seq_len"].astype("Int64"))  # fmt: skip


def _not_counted(statuses: pd.Series, counted: pd.Series) -> str:
    left = statuses[~counted.astype(bool)].astype(str).value_counts()
    return ", ".join(f"{n} {s}" for s, n in sorted(left.items()))


def success_rates(runs: pd.DataFrame, keys: list[str], options: Options) -> pd.DataFrame:
    """k/n solved per (keys..., model, T) with the Wilson interval; `not_counted` lists the rest."""
    cols = [*keys, *SUCCESS_COLUMNS, "not_counted"]
    if runs.empty:
        return pd.DataFrame(columns=cols)
    df = with_outcome(runs, options)
    by = [*keys, "model", "seq_len"]
    table = df.groupby(by, dropna=False, sort=False).agg(
        solved=("_solved", "sum"),
        n=("_counted", "sum"),
        not_counted=("status", lambda s: _not_counted(s, df.loc[s.index, "_counted"])),
    )
    table = table.reset_index()
    table["solved"], table["n"] = table["solved"].astype(int), table["n"].astype(int)
    with np.errstate(invalid="ignore", divide="ignore"):
        table["rate"] = np.where(table["n"] > 0, table["solved"] / table["n"].where(table["n"] > 0, 1), np.nan)
    table["ci_low"], table["ci_high"] = stats.wilson_interval(table["solved"], table["n"])
    return sort_cells(table[cols], keys, ["seq_len"])


def sort_cells(table: pd.DataFrame, keys: list[str], then: list[str], model: str = "model") -> pd.DataFrame:
    order = table[model].map(model_sort_key)
    try:
        table = table.assign(_m=order).sort_values([*keys, "_m", *then], kind="stable", na_position="last")
    except TypeError:
        table = table.assign(_m=order).sort_values(["_m", *then], kind="stable")
    return table.drop(columns="_m").reset_index(drop=True)


def accuracy(runs: pd.DataFrame, keys: list[str], options: Options) -> pd.DataFrame:
    """Final held-out accuracy of the completed runs per cell: mean, median, std and the mean's interval."""
    cols = [*keys, *ACCURACY_COLUMNS]
    df = with_outcome(runs, options) if len(runs) else runs
    if df.empty:
        return pd.DataFrame(columns=cols)
    df = df[(df["status"].astype(object) == contract.COMPLETED) & df["_score"].notna()]
    if df.empty:
        return pd.DataFrame(columns=cols)
    by = [*keys, "model", "seq_len"]
    table = (
        df.groupby(by, dropna=False, sort=False)
        .agg(n=("_score", "size"), mean=("_score", "mean"), median=("_score", "median"), std=("_score", "std"))
        .reset_index()
    )
    intervals = [
        stats.bootstrap_mean_interval(cell["_score"], n_boot=options.n_boot)
        for _, cell in df.groupby(by, dropna=False, sort=False)
    ]
    table["ci_low"] = [low for low, _ in intervals]
    table["ci_high"] = [high for _, high in intervals]
    return sort_cells(table[cols], keys, ["seq_len"])


def memory_lengths(runs: pd.DataFrame, keys: list[str], options: Options) -> tuple[pd.DataFrame, dict]:
    """T50 per (keys..., model) over its counted runs: the table and {(keys..., model): T50Estimate}."""
    estimates: dict[tuple, stats.T50Estimate] = {}
    records = []
    df = with_outcome(runs, options) if len(runs) else runs
    counted = df[df["_counted"]] if len(df) else df
    for group in groups(counted, [*keys, "model"]) if len(counted) else []:
        cell = select(counted, [*keys, "model"], group)
        estimate = stats.fit_t50(cell["seq_len"].astype(float), cell["_solved"], cell["seed"].astype(float))
        estimates[group] = estimate
        records.append(dict(zip([*keys, "model"], group), t50=estimate.t50, ci_low=estimate.ci_low,
                            ci_high=estimate.ci_high, censored=estimate.censored, tested_min=estimate.tested_min,
                            tested_max=estimate.tested_max, n=estimate.n, solved=int(cell["_solved"].sum()),
                            note=estimate.note))  # fmt: skip
    table = pd.DataFrame.from_records(records, columns=[*keys, *MEMORY_COLUMNS])
    return (sort_cells(table, keys, []) if len(table) else table), estimates


BUDGET_COLUMNS = ["model", "steps", "t50", "ci_low", "ci_high", "censored", "n", "solved"]


def first_solved_steps(curves: pd.DataFrame, threshold: float, spec: contract.TaskSpec | None = None) -> pd.Series:
    """Per job, the first step whose solved metric (metrics.csv's; the palindrome's eval_acc) passed the threshold."""
    if curves.empty:
        return pd.Series(dtype=float)
    rule = (spec or contract.task_spec(PALINDROME)).solved
    value = pd.to_numeric(curves["value"], errors="coerce")
    passed = value <= threshold + EPS if rule.lower_is_better else value >= threshold - EPS
    acc = curves[(curves["metric"] == rule.metric) & passed]
    return pd.to_numeric(acc["step"], errors="coerce").groupby(acc["job"]).min()


def t50_by_steps(runs: pd.DataFrame, curves: pd.DataFrame, keys: list[str], options: Options,
                 spec: contract.TaskSpec | None = None):  # fmt: skip
    """T50 per (keys..., model) at each training budget: the table, and {(keys..., model): [(steps, T50)]}."""
    spec = spec or contract.task_spec(PALINDROME)
    df = with_outcome(runs, options) if len(runs) else runs
    counted = df[df["_counted"]] if len(df) else df
    if counted.empty:
        return pd.DataFrame(columns=[*keys, *BUDGET_COLUMNS]), {}
    first = counted["job"].map(first_solved_steps(curves, threshold(spec, options), spec)).astype(float)
    ran = pd.to_numeric(counted["steps_done"], errors="coerce").astype(float)
    ran = ran.where(counted["status"].astype(object) == contract.COMPLETED, np.inf)  # diverged, failed: failed
    finite = ran[np.isfinite(ran)]
    if finite.empty:  # no completed run: no budget to compare
        return pd.DataFrame(columns=[*keys, *BUDGET_COLUMNS]), {}
    budgets = stats.step_budgets(int(finite.max()))
    series, records = {}, []
    for group in groups(counted, [*keys, "model"]):
        mask = np.ones(len(counted), dtype=bool)
        for key, value in zip([*keys, "model"], group):
            mask &= (counted[key] == value).to_numpy()
        rows = stats.t50_by_step_budget(counted["seq_len"].astype(float)[mask], first[mask], ran[mask], budgets)
        series[group] = rows
        for steps, e in rows:
            records.append(dict(zip([*keys, "model"], group), steps=steps, t50=e.t50, ci_low=e.ci_low,
                                ci_high=e.ci_high, censored=e.censored, n=e.n,
                                solved=int((first[mask] <= steps).sum())))  # fmt: skip
    return pd.DataFrame.from_records(records, columns=[*keys, *BUDGET_COLUMNS]), series


def _short(estimate: stats.T50Estimate) -> str:
    if estimate.censored == stats.ABOVE:
        return f"> {estimate.tested_max}"
    if estimate.censored == stats.BELOW:
        return f"< {estimate.tested_min}"
    if estimate.t50 is None:
        return "not estimable"
    return f"{_num(estimate.t50)} [{_num(estimate.ci_low)}, {_num(estimate.ci_high)}]"


def _group_name(keys: list[str], group: tuple) -> str:
    return f"{label(keys, group[:-1])}, {group[-1]}" if keys else str(group[-1])


def budget_sentence(name: str, rows: list[tuple[int, stats.T50Estimate]]) -> str:
    """Whether T50 has settled as the training budget grows: 'unchanged since 2000 steps' or not."""
    if not rows:
        return ""
    last_steps, last = rows[-1]
    if len(rows) < 2:
        return f"{name}: T50 {_short(last)} at {last_steps} steps (one budget: nothing to compare)."
    since = stats.saturated_since(rows)
    if since is not None:
        return (f"{name}: T50 {_short(last)} at {last_steps} steps, unchanged since {since} steps "
                f"(from {since} steps on each budget's T50 lies in the {last_steps}-step interval).")  # fmt: skip
    before_steps, before = rows[-2]
    return (f"{name}: T50 went from {_short(before)} at {before_steps} steps to {_short(last)} at {last_steps} "
            "steps; it has not settled, so more steps would likely change it.")  # fmt: skip


def _pairs(models: list[str]) -> list[tuple[str, str]]:
    """(a, b) for every two models, a the later in MODEL_ORDER: lstm - rnn, gru - rnn, lstm - gru."""
    ordered = sorted(models, key=model_sort_key)
    return [(a, b) for i, b in enumerate(ordered) for a in ordered[i + 1 :]]


def paired_effects(runs: pd.DataFrame, keys: list[str], options: Options) -> pd.DataFrame:
    """Per (keys..., T) and pair of models: a - b final accuracy over the seeds both completed."""
    cols = [*keys, *PAIRED_COLUMNS]
    df = with_outcome(runs, options) if len(runs) else runs
    if df.empty:
        return pd.DataFrame(columns=cols)
    done = df[(df["status"].astype(object) == contract.COMPLETED) & df["_score"].notna() & df["seed"].notna()]
    records = []
    for group in groups(done, [*keys, "seq_len"]) if len(done) else []:
        cell = select(done, [*keys, "seq_len"], group).drop_duplicates(["model", "seed"])
        for a, b in _pairs(list(cell["model"].unique())):
            both = pd.merge(cell[cell["model"] == a][["seed", "_score"]], cell[cell["model"] == b][["seed", "_score"]],
                            on="seed", suffixes=("_a", "_b"))  # fmt: skip
            if both.empty:
                continue
            effect = stats.paired_effect(both["_score_a"], both["_score_b"], n_boot=options.n_boot)
            records.append(dict(zip([*keys, "seq_len"], group), model_a=a, model_b=b, mean_diff=effect.mean_diff,
                                ci_low=effect.ci_low, ci_high=effect.ci_high, p_a_better=effect.p_a_better,
                                n_pairs=effect.n_pairs, wilcoxon_p=effect.wilcoxon_p))  # fmt: skip
    table = pd.DataFrame.from_records(records, columns=cols)
    if table.empty:
        return table
    order = table.assign(_b=table["model_b"].map(model_sort_key), _a=table["model_a"].map(model_sort_key))
    return (
        order.sort_values([*keys, "seq_len", "_b", "_a"], kind="stable")
        .drop(columns=["_a", "_b"])
        .reset_index(drop=True)
    )


def t50_differences(runs: pd.DataFrame, keys: list[str], estimates: dict, options: Options) -> pd.DataFrame:
    """T50(a) - T50(b) with its interval, for the pairs of models whose T50 are both estimable."""
    cols = [*keys, "model_a", "model_b", "difference", "ci_low", "ci_high"]
    df = with_outcome(runs, options) if len(runs) else runs
    records = []
    for group in groups(df, keys) if len(df) else []:
        models = [k[-1] for k in estimates if tuple(k[:-1]) == tuple(group)]
        for a, b in _pairs(models):
            if estimates[(*group, a)].t50 is None or estimates[(*group, b)].t50 is None:
                continue
            cell = select(df[df["_counted"]], keys, group)
            ra, rb = cell[cell["model"] == a], cell[cell["model"] == b]
            diff = stats.t50_difference(ra["seq_len"].astype(float), ra["_solved"], rb["seq_len"].astype(float),
                                        rb["_solved"])  # fmt: skip
            if diff is not None:
                records.append(dict(zip(keys, group), model_a=a, model_b=b, difference=diff.estimate,
                                    ci_low=diff.ci_low, ci_high=diff.ci_high))  # fmt: skip
    return pd.DataFrame.from_records(records, columns=cols)


# --------------------------------------------------------------------------- words
def _num(x: float) -> str:
    return f"{x:.1f}"


def _end(x: float, estimate: stats.T50Estimate) -> str:
    if x == math.inf:
        return f"> {estimate.tested_max}"
    if x == -math.inf:
        return f"< {estimate.tested_min}"
    return _num(x)


def t50_text(estimate: stats.T50Estimate, solved: int) -> str:
    """`T50 = 17.2 [14.8, 19.9]`, or the censored form `T50 > 30 (solved 15/15 runs at T <= 30)`."""
    if estimate.censored == stats.ABOVE:
        return f"T50 > {estimate.tested_max} (solved {solved}/{estimate.n} runs at T <= {estimate.tested_max})"
    if estimate.censored == stats.BELOW:
        return f"T50 < {estimate.tested_min} (solved 0/{estimate.n} runs at T >= {estimate.tested_min})"
    if estimate.t50 is None:
        return f"T50 not estimable ({estimate.note}; solved {solved}/{estimate.n})"
    text = f"T50 = {_num(estimate.t50)} [{_end(estimate.ci_low, estimate)}, {_end(estimate.ci_high, estimate)}]"
    return text + (f" ({estimate.note})" if estimate.note else "")


def clearly_longer(a: stats.T50Estimate, b: stats.T50Estimate, diff: stats.Difference | None) -> bool:
    """Whether the data say model a remembers longer than model b (intervals, not point estimates)."""
    if a.censored == stats.ABOVE:
        return b.censored == stats.BELOW or (b.t50 is not None and not b.open_above and b.ci_high <= a.tested_max)
    if a.t50 is None:
        return False
    if b.censored == stats.BELOW:
        return not a.open_below and a.ci_low >= b.tested_min
    return diff is not None and diff.ci_low > 0


def _tested(cell: pd.DataFrame) -> str:
    lengths = sorted(int(t) for t in cell["seq_len"].dropna().unique())
    if len(lengths) > 4:
        return f"T = {lengths[0]}–{lengths[-1]} ({len(lengths)} lengths)"
    return "T = " + ", ".join(map(str, lengths))


def _sentence(prefix: str, text: str) -> str:
    return prefix + text if prefix else text[:1].upper() + text[1:]


def verdict(group: tuple, keys: list[str], runs: pd.DataFrame, memory: pd.DataFrame, estimates: dict,
            differences: pd.DataFrame, paired: pd.DataFrame, task: str = PALINDROME, what: str = "accuracy") -> str:  # fmt: skip
    """One sentence (or two) for one value of the grouping keys."""
    prefix = f"{label(keys, group)}: " if keys else ""
    models = sorted((k[-1] for k in estimates if tuple(k[:-1]) == tuple(group)), key=model_sort_key)
    cell = select(runs, keys, group)
    status = cell["status"].astype(str)
    if not (status == contract.COMPLETED).any():
        counts = ", ".join(f"{n} {s}" for s, n in sorted(status.value_counts().items()))
        return _sentence(prefix, f"no run has completed yet ({counts}): nothing to compare.")
    if not models:
        return _sentence(prefix, f"no finished {task} run yet: nothing to compare.")
    failures = int((cell["_counted"] & status.isin([contract.DIVERGED, contract.FAILED])).sum())
    if failures:
        note = f" ({failures} diverged or failed run(s) counted as not solved; `--completed-only` leaves them out.)"
    else:
        note = ""
    waiting = sorted(set(cell["model"].astype(str)) - set(models), key=model_sort_key)
    if waiting:
        note += f" No finished run yet: {', '.join(waiting)}."
    return _verdict(prefix, group, keys, models, cell, memory, estimates, differences, paired, what) + note


def _verdict(prefix, group, keys, models, cell, memory, estimates, differences, paired, what) -> str:
    mem = select(memory, keys, group).set_index("model")
    texts = {m: f"{m} {t50_text(estimates[(*group, m)], int(mem.loc[m, 'solved']))}" for m in models}
    if len(models) == 1:
        alone = len(set(cell["model"].astype(str))) == 1
        return prefix + texts[models[0]] + (" (one model: nothing to compare)." if alone else ".")

    def diff(a: str, b: str) -> stats.Difference | None:
        rows = select(differences, keys, group)
        for x, y, sign in ((a, b, 1), (b, a, -1)):
            hit = rows[(rows["model_a"] == x) & (rows["model_b"] == y)]
            if len(hit):
                r = hit.iloc[0]
                lo, hi = sorted((sign * r["ci_low"], sign * r["ci_high"]))
                return stats.Difference(sign * r["difference"], lo, hi)
        return None

    counted = cell[cell["_counted"]]
    tested = {m: _tested(counted[counted["model"] == m]) for m in models}
    where = ""
    if len(set(tested.values())) > 1:
        where = " Tested at different lengths: " + "; ".join(f"{m} {t}" for m, t in tested.items()) + "."

    def longer(a: str, b: str) -> bool:
        return clearly_longer(estimates[(*group, a)], estimates[(*group, b)], diff(a, b))

    top = [m for m in models if not any(longer(o, m) for o in models if o != m)]
    rest = [m for m in models if m not in top]
    if top and rest and all(longer(t, r) for t in top for r in rest):
        extra = [_diff_text(t, r, diff(t, r)) for t in top for r in rest if diff(t, r)]
        if len(top) == 1:
            best = top[0]
            head = f"**{best}** remembers {'longer' if len(models) == 2 else 'longest'}: {texts[best][len(best) + 1 :]}"
            text = f"{head} against {' and '.join(texts[o] for o in rest)}."
        else:
            names = " and ".join(f"**{t}**" for t in top)
            text = (f"{names} remember longer than {' and '.join(rest)} (no clear difference between "
                    f"{' and '.join(top)}): " + "; ".join(texts[m] for m in models) + ".")  # fmt: skip
        return prefix + text + (" " + "; ".join(extra) + "." if extra else "") + where
    censors = {estimates[(*group, m)].censored for m in models}
    if censors == {stats.BELOW}:
        head = "no model solved any tested length"
    elif censors == {stats.ABOVE}:
        head = "every model solved every tested length: test longer lengths to tell them apart"
    else:
        head = "the data do not say which model remembers longer"
    text = f"{head}: " + "; ".join(texts[m] for m in models) + "."
    return _sentence(prefix, text + _paired_text(select(paired, keys, group), what) + where)


def _diff_text(a: str, b: str, d: stats.Difference) -> str:
    return f"T50({a}) − T50({b}) = {d.estimate:+.1f} [{d.ci_low:+.1f}, {d.ci_high:+.1f}]"


#: a bootstrap interval over fewer seeds is too optimistic to be quoted in the verdict
MIN_PAIRS_IN_VERDICT = 3


def _paired_text(paired: pd.DataFrame, what: str = "accuracy") -> str:
    """Where paired accuracies differ (the interval excludes 0, enough seeds), in a few words."""
    if paired.empty:
        return ""
    clear = paired[((paired["ci_low"] > 0) | (paired["ci_high"] < 0)) & (paired["n_pairs"] >= MIN_PAIRS_IN_VERDICT)]
    if clear.empty:
        return ""
    clear = clear.assign(_size=-clear["mean_diff"].abs()).sort_values("_size", kind="stable")
    parts = [f"{r.model_a} − {r.model_b} = {r.mean_diff:+.2f} [{r.ci_low:+.2f}, {r.ci_high:+.2f}] at T = {r.seq_len}"
             for r in clear.head(3).itertuples()]  # fmt: skip
    more = f" (and {len(clear) - 3} more in the paired table)" if len(clear) > 3 else ""
    return f" Paired by seed, the final {what} differs: " + "; ".join(parts) + more + "."


# --------------------------------------------------------------------------- display tables
def _rate_cell(row) -> str:
    if row["n"] == 0:
        text = "0/0"
    else:
        text = f"{row['solved']}/{row['n']} ({row['ci_low']:.2f}–{row['ci_high']:.2f})"
    return text + (f" [{row['not_counted']}]" if row["not_counted"] else "")


def _pivot(table: pd.DataFrame, keys: list[str], cell) -> pd.DataFrame:
    if table.empty:
        return pd.DataFrame(columns=[*keys, "T"])
    cells = table.assign(cell=[cell(r) for _, r in table.iterrows()])
    for key in keys:  # a key absent from some runs: those rows stay, under "—"
        cells[key] = [("—" if pd.isna(v) else v) for v in cells[key]]
    wide = cells.pivot_table(index=[*keys, "seq_len"], columns="model", values="cell", aggfunc="first", fill_value="—")
    wide = wide[sorted(wide.columns, key=model_sort_key)]
    wide.columns.name = None
    return wide.reset_index().rename(columns={"seq_len": "T"})


def _accuracy_cell(row) -> str:
    if row["n"] < 2:
        return f"{row['mean']:.3f} (n=1)"
    return f"{row['mean']:.3f} [{row['ci_low']:.3f}, {row['ci_high']:.3f}], median {row['median']:.3f} (n={row['n']})"


def _memory_display(memory: pd.DataFrame, estimates: dict, keys: list[str]) -> pd.DataFrame:
    rows = []
    for _, r in memory.iterrows():
        estimate = estimates[(*[r[k] for k in keys], r["model"])]
        rows.append({**{k: r[k] for k in keys}, "model": r["model"], "memory length": t50_text(estimate, r["solved"]),
                     "tested T": f"{r['tested_min']}–{r['tested_max']}", "runs solved": f"{r['solved']}/{r['n']}"})  # fmt: skip
    return pd.DataFrame(rows, columns=[*keys, "model", "memory length", "tested T", "runs solved"])


def _paired_display(paired: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    rows = []
    for _, r in paired.iterrows():
        test = "n < 6: no test" if r["n_pairs"] < stats.MIN_PAIRS_FOR_A_TEST else f"{r['wilcoxon_p']:.3g}"
        interval = "—" if pd.isna(r["ci_low"]) else f"[{r['ci_low']:+.3f}, {r['ci_high']:+.3f}]"
        rows.append({**{k: r[k] for k in keys}, "T": r["seq_len"], "a − b": f"{r['model_a']} − {r['model_b']}",
                     "mean difference": f"{r['mean_diff']:+.3f} {interval}", "P(a > b)": f"{r['p_a_better']:.2f}",
                     "pairs": r["n_pairs"], "Wilcoxon p": test})  # fmt: skip
    return pd.DataFrame(rows, columns=[*keys, "T", "a − b", "mean difference", "P(a > b)", "pairs", "Wilcoxon p"])


# --------------------------------------------------------------------------- the section
def grouping_keys(runs: pd.DataFrame, config_columns: list[str]) -> list[str]:
    """Keys besides model, T and seed that vary *for one model*: an extra level of every table.

    A key that only differs between models (the LSTM's forget_bias) is a property of the model.
    """
    return varying_keys(runs, config_columns, skip=PRIMARY_KEYS, within="model")


def across_tasks(sections: list[SectionResult]) -> pd.DataFrame | None:
    """task x model -> T50 [interval], when the report covers more than one memory task (else None)."""
    rows = [{"task": s.task, **s.memory_lengths} for s in sections if s.memory_lengths]
    if len(rows) < 2:
        return None
    table = pd.DataFrame(rows).set_index("task")
    table = table[sorted(table.columns, key=model_sort_key)].fillna("not run")
    return table.reset_index()


def build(data, options: Options) -> list[SectionResult]:
    """One section per memory task that has runs (the palindrome first)."""
    return [r for spec in memory_specs() if (r := build_task(data, options, spec)) is not None]


def build_task(data, options: Options, spec: contract.TaskSpec) -> SectionResult | None:
    from . import memory_figures as figures

    runs = task_runs(data.runs, spec.name)
    if runs.empty:
        return None
    # the palindrome's files keep their names; another task's are prefixed with its name
    prefix = "" if spec.name == PALINDROME else f"{spec.name}_"
    what = spec.solved.what or spec.solved.metric
    keys = grouping_keys(runs, data.config_columns)
    success = success_rates(runs, keys, options)
    memory, estimates = memory_lengths(runs, keys, options)
    paired = paired_effects(runs, keys, options)
    differences = t50_differences(runs, keys, estimates, options)
    acc = accuracy(runs, keys, options)
    by_steps, by_steps_rows = t50_by_steps(runs, data.curves, keys, options, spec)
    outcome = with_outcome(runs, options)
    verdicts = [verdict(g, keys, outcome, memory, estimates, differences, paired, spec.name, what)
                for g in groups(runs, keys)]  # fmt: skip
    models = sorted(runs["model"].dropna().astype(str).unique(), key=model_sort_key)

    result = SectionResult(
        task=spec.name,
        title=f"{spec.name}: " + " vs ".join(models),
        runs=runs,
        swept=varying_keys(runs, data.config_columns, skip=("seed",)),
        headline=[f"{spec.name}: {v}" for v in verdicts] if prefix else verdicts,
        tables={
            f"{prefix}success_rate": success.drop(columns="not_counted"),
            f"{prefix}memory_length": memory,
            f"{prefix}paired_effect": paired,
            f"{prefix}t50_difference": differences,
            f"{prefix}accuracy": acc,
            f"{prefix}t50_by_steps": by_steps,
        },
        markdown_tables={
            f"{prefix}success_rate": _pivot(success, keys, _rate_cell),
            f"{prefix}memory_length": _memory_display(memory, estimates, keys),
            f"{prefix}paired_effect": _paired_display(paired, keys),
            f"{prefix}accuracy": _pivot(acc, keys, _accuracy_cell),
        },
        memory_lengths={}
        if keys
        else {
            m: t50_text(e, int(memory.set_index("model").loc[m, "solved"])) for (m,), e in estimates.items()
        },  # fmt: skip
    )
    if options.make_plots:
        figure = figures.success_rate_plot(
            runs, success, estimates, keys, options, options.plots_dir / f"{prefix}success_rate.png", spec
        )
        if figure:
            result.headline_figures[
                f"{spec.name}: success rate against T (Wilson 95% bands, fitted logistic, T50 marked)"
                if prefix
                else "Success rate against T (Wilson 95% bands, fitted logistic, T50 marked)"
            ] = figure
        result.figures = figures.curve_figures(runs, data.curves, keys, options, spec, prefix)

    def body(doc) -> None:
        pending = int((runs["status"].astype(object) == PENDING).sum())
        counted = "completed" if options.completed_only else "completed, diverged and failed"
        doc.heading("Memory length (T50)", 3)
        doc.paragraph(
            f"T50 is the length at which half the runs solve T ({solved_text(spec, options)}): "
            + stats.METHOD_NOTE
            + " A censored answer (`T50 > 30`) means every tested length was "
            f"solved (or none was). Counted: {counted} runs (`--completed-only` counts completed runs only)."
            + (f" {pending} planned job(s) not started yet are not counted." if pending else "")
        )
        doc.table(result.markdown_tables[f"{prefix}memory_length"])
        if len(differences):
            doc.table(differences.rename(columns={"difference": "T50(a) − T50(b)"}))
        if by_steps_rows:
            doc.heading("Memory length against the training budget", 3)
            doc.paragraph(
                "T50 as if each run had trained for at most this many steps: a run counts as solved at a budget "
                f"when its {what} (metrics.csv) first reached {threshold(spec, options):g} by then; a run that "
                f"stopped earlier without solving is left out of the larger budgets (`tables/{prefix}t50_by_steps.csv`). "
                + " ".join(budget_sentence(_group_name(keys, g), r) for g, r in by_steps_rows.items())
            )
        doc.heading("Success rate per length", 3)
        doc.paragraph("Runs that solved T out of the runs counted, with the Wilson 95% interval; in brackets the "
                      "runs not counted (still running, planned, unreadable).")  # fmt: skip
        doc.table(result.markdown_tables[f"{prefix}success_rate"])
        doc.heading("Paired effect (same seed, same training batches)", 3)
        doc.paragraph(
            f"Per T, the mean over seeds of a − b final {what} (completed runs of both models at the "
            "same seed), its 95% bootstrap interval, and P(a > b) (ties count half). With fewer than "
            f"{stats.MIN_PAIRS_FOR_A_TEST} pairs no test can reach p < 0.05 (a Wilcoxon signed-rank test on "
            "3 pairs has p >= 0.25), so none is printed."
        )
        if len(paired):
            doc.table(result.markdown_tables[f"{prefix}paired_effect"])
        else:
            doc.paragraph("no paired runs")
        doc.heading(f"Final {what}", 3)
        doc.paragraph(f"Completed runs: mean [95% bootstrap interval of the mean], median (n). {spec.solved.note}")
        if len(acc):
            doc.table(result.markdown_tables[f"{prefix}accuracy"])
        else:
            doc.paragraph("no completed run")

    result.body = body
    return result
