"""The sweep report: what was swept, the findings, tables, plots, unfinished runs, environment."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .document import Document
from .load import SweepData
from .tables import METRICS, PALINDROME, PRIMARY_KEYS, model_sort_key, palindrome_runs

RUN_COLUMNS = ["job", "status", "task", "model", "seq_len", "seed"]
RESULT_COLUMNS = ["final_eval_acc", "best_eval_acc", "step_to_99", "steps_done", "wall_time_s"]


def _values_text(values: pd.Series) -> str:
    uniq = values.dropna().unique()
    try:
        uniq = sorted(uniq, key=model_sort_key) if values.name == "model" else sorted(uniq)
    except TypeError:
        pass
    return ", ".join(str(v) for v in uniq) if len(uniq) else "—"


def settings_table(runs: pd.DataFrame, config_columns: list[str], extra_keys: list[str]) -> pd.DataFrame:
    """Config keys that did not vary: one value, or one value per model (model settings such as
    the LSTM's forget_bias); '—' for a model whose config lacks the key."""
    rows = []
    models = sorted(runs["model"].dropna().unique(), key=model_sort_key)
    for col in sorted(config_columns):
        if col in PRIMARY_KEYS or col in extra_keys or col not in runs.columns:
            continue
        values = runs[["model", col]].dropna(subset=[col])
        if values.empty:
            continue
        texts = values[col].astype(str)
        per_model = {m: sorted(texts[values["model"] == m].unique()) for m in models}
        if texts.nunique() == 1 and all(per_model.values()):
            rows.append({"setting": col, "value": texts.iloc[0]})
        else:
            rows.append({"setting": col, "value": "; ".join(
                f"{m}: {', '.join(v) if v else '—'}" for m, v in per_model.items())})
    return pd.DataFrame(rows, columns=["setting", "value"])


def _status_line(runs: pd.DataFrame) -> str:
    counts = runs["status"].value_counts()
    return ", ".join(f"{n} {s}" for s, n in counts.items())


def environment_bullets(runs: pd.DataFrame) -> list[str]:
    items = []
    for col, name in (("device", "device"), ("torch_version", "torch version")):
        if col in runs and runs[col].notna().any():
            counts = runs[col].dropna().astype(str).value_counts()
            items.append(f"{name}: " + ", ".join(f"`{v}` ({n} runs)" for v, n in counts.items()))
    if "n_params" in runs and runs["n_params"].notna().any():
        per_model = runs.dropna(subset=["n_params", "model"]).groupby("model")["n_params"].agg(
            lambda s: ", ".join(str(int(v)) for v in sorted(s.unique())))
        items.append("parameters: " + "; ".join(
            f"{m}: {v}" for m, v in sorted(per_model.items(), key=lambda kv: model_sort_key(kv[0]))))
    if "steps_per_s" in runs and runs["steps_per_s"].notna().any():
        speed = runs.dropna(subset=["steps_per_s", "model"]).groupby("model")["steps_per_s"].mean()
        items.append("mean speed: " + "; ".join(
            f"{m}: {v:.1f} steps/s" for m, v in sorted(speed.items(), key=lambda kv: model_sort_key(kv[0]))))
    if "wall_time_s" in runs and runs["wall_time_s"].notna().any():
        items.append(f"total training time: {runs['wall_time_s'].sum() / 60:.1f} min over "
                     f"{runs['wall_time_s'].notna().sum()} runs")
    return items or ["no run recorded its environment (no readable summary.json)"]


def build(analysis, out_dir: Path) -> Document:
    """The report document of an ``Analysis`` (see pipeline.py)."""
    data: SweepData = analysis.data
    runs = data.runs
    extra = analysis.extra_keys
    doc = Document("Sweep analysis: RNN vs LSTM on the palindrome task")
    doc.paragraph(f"{len(runs)} runs from {len(data.sweeps)} sweep(s): {_status_line(runs) or 'none'}.")

    doc.heading("Findings")
    for sentence in analysis.verdicts:
        doc.paragraph(sentence)
    if analysis.findings:
        doc.bullets(analysis.findings)
    else:
        doc.paragraph("No completed palindrome run: nothing to compare yet.")
    doc.paragraph(f"A length T is *solved* when the mean final held-out accuracy over the completed seeds is "
                  f">= {analysis.threshold:g} (`--threshold`). Means ± sample std (ddof = 1) over seeds; "
                  "n = completed runs; runs that did not complete are counted in brackets and excluded.")
    not_done = runs[runs["status"] != "completed"]
    if len(not_done):
        doc.paragraph(f"**{len(not_done)} run(s) did not complete**: see *Runs that did not complete* below.")
    others = runs[runs["task"].notna() & (runs["task"] != PALINDROME)]
    if len(others):
        tasks = ", ".join(sorted(others["task"].astype(str).unique()))
        doc.paragraph(f"{len(others)} run(s) of other tasks ({tasks}) are listed under *All runs* "
                      "but not in the palindrome tables.")

    doc.heading("What was swept")
    for sweep in data.sweeps:
        doc.heading(f"`{sweep.path}`", 3)
        items = []
        if sweep.sweeper_params:
            items.append("sweeper params: " + "; ".join(f"`{k}={v}`" for k, v in sweep.sweeper_params.items()))
        items.append("command-line overrides: " + (" ".join(f"`{o}`" for o in sweep.task_overrides) or "none"))
        items += [f"problem: {p}" for p in sweep.problems]
        if not (sweep.path / "multirun.yaml").is_file():
            items.append("no multirun.yaml: the swept keys below are inferred from the runs")
        doc.bullets(items)
    pal = palindrome_runs(runs)
    varied = [f"`{k}`: {_values_text(pal[k])}" for k in ("model", "seq_len", "seed", *extra) if k in pal]
    doc.paragraph("Values found in the runs:")
    doc.bullets(varied)
    if extra:
        doc.paragraph("Extra grouping level(s), because they varied for a given model: "
                      + ", ".join(f"`{k}`" for k in extra) + ".")
    doc.heading("Fixed settings", 3)
    doc.table(settings_table(runs, data.config_columns, extra))

    doc.heading("Tables")
    doc.heading("Longest length solved", 3)
    if len(analysis.solved):
        doc.table(analysis.solved_table)
    for metric, title in METRICS.items():
        doc.heading(f"{title[0].upper()}{title[1:]} (`{metric}`)", 3)
        table = analysis.pivots.get(metric)
        if table is None or table.empty:
            doc.paragraph("no data")
        else:
            doc.table(table)

    if analysis.gan_table is not None:
        doc.heading("DCGAN quality (`task=gan` runs)", 3)
        doc.paragraph("Frechet distance on the features of a small MNIST classifier (lower is better; "
                      "the real-vs-real floor is what a perfect generator would score) and class coverage "
                      "of generated digits; mean ± std (n) over completed seeds. See docs/GAN.md.")
        doc.table(analysis.gan_table)

    doc.heading("Plots")
    if not analysis.plots:
        doc.paragraph("no curves to plot")
    for title, path in analysis.plots.items():
        doc.heading(title, 3)
        doc.image(path, title)

    doc.heading("Runs that did not complete")
    if len(not_done):
        cols = [c for c in [*RUN_COLUMNS, *extra, "steps_done", "error", "problems", "job_dir"] if c in runs]
        doc.table(not_done[cols])
    else:
        doc.paragraph(f"All {len(runs)} runs completed.")
    problems = runs[(runs["status"] == "completed") & runs["problems"].fillna("").astype(bool)]
    if len(problems):
        doc.paragraph("Completed runs with unreadable files:")
        doc.table(problems[["job", "problems", "job_dir"]])

    doc.heading("Environment")
    doc.bullets(environment_bullets(runs))

    doc.heading("All runs")
    cols = [c for c in [*RUN_COLUMNS, *extra, *RESULT_COLUMNS] if c in runs]
    doc.table(runs[cols])
    doc.heading("Files")
    doc.bullets([f"`{Path(p).relative_to(out_dir).as_posix() if Path(p).is_relative_to(out_dir) else p}`"
                 for p in analysis.table_files])
    return doc
