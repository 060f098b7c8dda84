"""The report's content: the verdict and its figure first, then each task's section, what was swept,
the runs that did not complete, provenance and environment, duplicates, all runs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sweeplab import contract

from .document import Document
from .runs import MISSING, PENDING, SweepData
from .sections import Options, SectionResult, model_sort_key
from .sections.memory import across_tasks

RUN_COLUMNS = ["job", "status", "task", "model", "seq_len", "seed"]
PROVENANCE = {"git_commit": "git commit", "git_dirty": "uncommitted changes", "sweeplab": "sweeplab",
              "torch": "torch", "python": "python", "device": "device"}  # fmt: skip


def result_columns(runs: pd.DataFrame) -> list[str]:
    """The "All runs" table's results: each task's (its spec's, in order), then the progress numbers."""
    columns: list[str] = []
    for task in runs["task"].dropna().astype(str).unique() if "task" in runs else ():
        spec = contract.task_spec(task)
        if spec is not None:
            columns += spec.results if spec.shown is None else spec.shown
    return [*columns, contract.EARLY_STOPPED_AT, contract.STEPS_DONE, contract.WALL_TIME_S]


def filled(runs: pd.DataFrame, cols: list[str]) -> list[str]:
    """`cols` without those no run fills (a GAN sweep's table has no model, seq_len or accuracy columns)."""
    return [c for c in cols if c in ("job", "status") or runs[c].notna().any()]


def _count(n: int, what: str) -> str:
    return f"{n} {what}" if n == 1 else f"{n} {what}s"


def accounting(data: SweepData) -> list[str]:
    """What was found: jobs planned and in which state, running jobs' progress, duplicates, skipped dirs."""
    runs = data.runs
    status = runs["status"].astype(str)
    counts = status.value_counts()
    order = [contract.COMPLETED, contract.DIVERGED, contract.FAILED, contract.RUNNING, MISSING, "corrupt", PENDING]
    parts = [f"{counts[s]} {'not started' if s == PENDING else s}" for s in order if s in counts]
    parts += [f"{n} {s}" for s, n in counts.items() if s not in order]
    sweeps = _count(len(data.sweeps), "sweep")
    planned = [s.planned for s in data.sweeps]
    if data.single_runs:
        head = f"{_count(len(runs), 'single run')} (not one sweep)"
    elif all(p is not None for p in planned):
        head = f"{_count(sum(planned), 'job')} planned by {sweeps}"
    else:
        head = f"{_count(len(runs), 'job')} from {sweeps}"
    lines = [f"{head}: {', '.join(parts) or 'none'}."]
    running = runs[status == contract.RUNNING]
    if len(running):
        progress = [
            f"{r.job} at step {int(r.steps_done)}" + (f" of {int(r.steps)}" if pd.notna(r.steps) else "")
            if pd.notna(r.steps_done) else f"{r.job} (no step yet)"
            for r in running.head(8).itertuples()
        ]  # fmt: skip
        more = f", and {len(running) - 8} more" if len(running) > 8 else ""
        lines.append("Running (progress from metrics.csv): " + ", ".join(progress) + more + ".")
    if any(s.adaptive for s in data.sweeps):
        lines.append("An adaptive sweeper chooses later jobs from the results so far: the jobs it has not "
                     "chosen yet are not counted above.")  # fmt: skip
    if data.single_runs:
        lines.append("These are single runs (`sweeplab` without `-m`), reported as a collection: runs that share "
                     "the model, T and every setting are pooled as seeds of one cell.")  # fmt: skip
    if len(data.duplicates):
        lines.append(f"{_count(len(data.duplicates), 'duplicate run')} (same config and seed found more than once, "
                     "e.g. in sweeps combined) counted once: see *Duplicates*.")  # fmt: skip
    unreadable = [(p, why) for s in data.sweeps for p, why in s.unreadable]
    if unreadable:
        lines.append(f"Skipped {_count(len(unreadable), 'unreadable job dir')}: "
                     + "; ".join(f"`{p}` ({why})" for p, why in unreadable) + ".")  # fmt: skip
    return lines


#: the grid an adaptive search is compared with: seq_len=range(t_min, t_max + 1, 5) x 3 seeds per model
GRID_STEP, GRID_SEEDS = 5, 3


def search_bullets(sweep, runs: pd.DataFrame) -> list[str]:
    """An adaptive search in a few lines: its probes, and its compute next to the grid's."""
    probes = sweep.search
    if probes is None or probes.empty:
        return []
    rounds = probes["round"].nunique() if "round" in probes else "?"
    per_model = "; ".join(f"{m}: {len(g)} at T = {', '.join(map(str, sorted(set(g['seq_len'].astype(int)))))}"
                          for m, g in probes.groupby("model", sort=False))  # fmt: skip
    items = [f"search.csv: {len(probes)} probes in {rounds} round(s) ({per_model})"]
    settings = sweep.sweeper_settings
    models, t_min, t_max = settings.get("models"), settings.get("t_min"), settings.get("t_max")
    steps = pd.to_numeric(runs["steps"], errors="coerce").max()
    done = pd.to_numeric(runs["steps_done"], errors="coerce").sum()
    if isinstance(models, list) and isinstance(t_min, int) and isinstance(t_max, int) and pd.notna(steps):
        grid_jobs = len(models) * len(range(t_min, t_max + 1, GRID_STEP)) * GRID_SEEDS
        grid_steps = grid_jobs * int(steps)
        items.append(f"compute: {int(done):,} training steps in {len(runs[runs['job_dir'].notna()])} jobs, against "
                     f"{grid_steps:,} steps in {grid_jobs} jobs for the grid seq_len=range({t_min}, {t_max + 1}, "
                     f"{GRID_STEP}) x {GRID_SEEDS} seeds ({done / grid_steps:.0%} of it)")  # fmt: skip
    return items


def _values_text(values: pd.Series) -> str:
    uniq = list(values.dropna().unique())
    try:
        uniq = sorted(uniq, key=model_sort_key) if values.name == "model" else sorted(uniq)
    except TypeError:
        pass
    return ", ".join(str(v) for v in uniq) if uniq else "—"


def settings_table(runs: pd.DataFrame, columns: list[str], skip: list[str]) -> pd.DataFrame:
    """Settings that did not vary among `runs`: one value, or one per model (the LSTM's forget_bias)."""
    rows = []
    models = sorted(runs["model"].dropna().astype(str).unique(), key=model_sort_key)
    for col in sorted(columns):
        if col in skip or col not in runs.columns or col.rsplit(".", 1)[-1] in ("_target_", "_partial_"):
            continue
        values = runs[["model", col]].dropna(subset=[col])
        if values.empty:
            continue
        texts = values[col].astype(str)
        per_model = {m: sorted(texts[values["model"].astype(str) == m].unique()) for m in models}
        if texts.nunique() == 1 and (not models or all(per_model.values())):
            rows.append({"setting": col, "value": texts.iloc[0]})
        else:
            rows.append({"setting": col, "value": "; ".join(f"{m}: {', '.join(v) if v else '—'}"
                                                           for m, v in per_model.items())})  # fmt: skip
    return pd.DataFrame(rows, columns=["setting", "value"])


def provenance_bullets(runs: pd.DataFrame) -> list[str]:
    """Which code and environment ran the runs: each value with its number of runs."""
    items = []
    for key, name in PROVENANCE.items():
        col = f"provenance.{key}"
        if col in runs and runs[col].notna().any():
            counts = runs[col].dropna().astype(str).value_counts()
            items.append(f"{name}: " + ", ".join(f"`{v}` ({_count(n, 'run')})" for v, n in counts.items()))
    recorded = int(runs.filter(like="provenance.").notna().any(axis=1).sum()) if len(runs) else 0
    finished = int(runs["status"].astype(str).isin(contract.STATUSES).sum())
    if finished > recorded:
        items.append(f"{finished - recorded} run(s) recorded no provenance (written before sweeplab recorded it)")
    if "torch_version" in runs and runs["torch_version"].notna().any() and "provenance.torch" not in runs:
        counts = runs["torch_version"].dropna().astype(str).value_counts()
        items.append("torch version: " + ", ".join(f"`{v}` ({_count(n, 'run')})" for v, n in counts.items()))
    if "device" in runs and runs["device"].notna().any() and "provenance.device" not in runs:
        counts = runs["device"].dropna().astype(str).value_counts()
        items.append("device: " + ", ".join(f"`{v}` ({_count(n, 'run')})" for v, n in counts.items()))
    return items


def environment_bullets(runs: pd.DataFrame) -> list[str]:
    items = []
    if "n_params" in runs and runs["n_params"].notna().any():
        per_model = runs.dropna(subset=["n_params", "model"]).groupby("model")["n_params"].agg(
            lambda s: ", ".join(str(int(v)) for v in sorted(s.unique())))  # fmt: skip
        items.append("parameters: " + "; ".join(f"{m}: {v}" for m, v in sorted(per_model.items(),
                                                                                key=lambda kv: model_sort_key(kv[0]))))  # fmt: skip
    if "steps_per_s" in runs and runs["steps_per_s"].notna().any():
        speed = runs.dropna(subset=["steps_per_s", "model"]).groupby("model")["steps_per_s"].mean()
        items.append("mean speed: " + "; ".join(f"{m}: {v:.1f} steps/s" for m, v in sorted(
            speed.items(), key=lambda kv: model_sort_key(kv[0]))))  # fmt: skip
    if "wall_time_s" in runs and runs["wall_time_s"].notna().any():
        total = runs["wall_time_s"].sum()
        spent = f"{total / 60:.1f} min" if total >= 60 else f"{total:.1f} s"
        items.append(f"total training time: {spent} over {runs['wall_time_s'].notna().sum()} runs")
    return items


def build(data: SweepData, sections: list[SectionResult], options: Options, table_files: list[Path],
          out_dir: Path) -> Document:  # fmt: skip
    runs = data.runs
    if data.single_runs:
        title = "Analysis of a collection of single runs"
    else:
        title = "Sweep analysis — " + ("; ".join(s.title for s in sections) if sections else "no recognised task")
    doc = Document(title)
    for line in accounting(data):
        doc.paragraph(line)

    doc.heading("Verdict")
    if not sections:
        known = ", ".join(contract.task_specs())
        doc.paragraph(f"No run of a task this analysis knows ({known}) with a model and a length: nothing to compare.")
    if (by_task := across_tasks(sections)) is not None:
        doc.paragraph("Memory length of each model on each task (T50, the length half the runs solve, with its "
                      "interval; the tasks' sections below give the rules and the tables):")  # fmt: skip
        doc.table(by_task)
    for section in sections:
        for sentence in section.headline:
            doc.paragraph(sentence)
        for caption, path in section.headline_figures.items():
            doc.image(path, caption)
    not_done = runs[runs["status"].astype(str) != contract.COMPLETED]
    if len(not_done):
        doc.paragraph(f"**{len(not_done)} run(s) did not complete**: see *Runs that did not complete* below.")
    known = pd.concat([s.runs for s in sections]) if sections else runs.iloc[0:0]
    others = runs[~runs.index.isin(known.index)]
    if len(others):
        doc.paragraph(f"{len(others)} run(s) belong to no section (another task, no model and length "
                      "recorded, or settings that were refused, such as seq_len=abc): they are listed under "
                      "*All runs*, and those that failed with their reason under *Runs that did not complete*.")  # fmt: skip

    for section in sections:
        doc.heading(section.title[0].upper() + section.title[1:])
        if section.body:
            section.body(doc)

    figures = [(caption, path) for s in sections for caption, path in s.figures.items()]
    if figures:
        doc.heading("Figures")
        for caption, path in figures:
            doc.heading(caption, 3)
            doc.image(path, caption)

    doc.heading("What was swept")
    for sweep in data.sweeps:
        doc.heading(f"`{sweep.path}`", 3)
        items = [f"kind: {sweep.kind}" + (f" (sweeper `{sweep.sweeper}`)" if sweep.sweeper else "")]
        if sweep.sweeper_params:
            items.append("sweeper params: " + "; ".join(f"`{k}={v}`" for k, v in sweep.sweeper_params.items()))
        if sweep.kind == "sweep":
            items.append("command-line overrides: " + (" ".join(f"`{o}`" for o in sweep.task_overrides) or "none"))
        if sweep.planned is not None:
            items.append(f"jobs planned: {sweep.planned}")
        items += search_bullets(sweep, runs[runs["sweep"] == sweep.label])
        items += [f"problem: {p}" for p in sweep.problems]
        if sweep.kind == "sweep" and not (sweep.path / contract.SWEEP_CONFIG).is_file():
            items.append("no multirun.yaml: the swept keys are inferred from the runs, pending jobs unknown")
        doc.bullets(items)
    for section in sections:
        found = [k for k in ("model", "seq_len", "seed") if k in section.runs and section.runs[k].notna().any()]
        doc.heading(f"{section.task}: values found in the runs", 3)
        swept = [k for k in section.swept if k not in ("model.name", "seq_len", "seed")]
        doc.bullets([f"`{k}`: {_values_text(section.runs[k])}" for k in [*found, *swept] if k in section.runs])
        doc.heading(f"{section.task}: fixed settings", 3)
        skip = ["task", "seq_len", "seed", "model.name", *section.swept]
        doc.table(settings_table(section.runs, data.config_columns, skip))

    for sweep in data.sweeps:
        if sweep.search is not None and len(sweep.search):
            doc.heading(f"Search record (`{sweep.label}/search.csv`)", 3)
            doc.table(sweep.search)

    doc.heading("Runs that did not complete")
    if len(not_done):
        cols = [c for c in [*RUN_COLUMNS, "steps_done", "steps", "error", "problems", "job_dir"] if c in runs]
        doc.table(not_done[filled(not_done, cols)])
    else:
        doc.paragraph(f"All {len(runs)} runs completed.")
    problems = runs[(runs["status"].astype(str) == contract.COMPLETED) & runs["problems"].fillna("").astype(bool)]
    if len(problems):
        doc.paragraph("Completed runs with unreadable files:")
        doc.table(problems[["job", "problems", "job_dir"]])

    doc.heading("Provenance and environment")
    doc.bullets(provenance_bullets(runs) + environment_bullets(runs) or ["no run recorded its environment"])

    if len(data.duplicates):
        doc.heading("Duplicates")
        doc.paragraph("Runs of the same config and seed found more than once; each counts once (the kept copy).")
        doc.table(data.duplicates)

    doc.heading("All runs")
    keys = [k for s in sections for k in s.swept if k not in ("model.name", "seq_len")]
    cols = [c for c in dict.fromkeys([*RUN_COLUMNS, *keys, *result_columns(runs)]) if c in runs]
    doc.table(runs[filled(runs, cols)])
    doc.heading("Files")
    doc.bullets([f"`{Path(p).relative_to(out_dir).as_posix() if Path(p).is_relative_to(out_dir) else p}`"
                 for p in table_files])  # fmt: skip
    return doc
