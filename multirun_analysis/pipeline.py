"""``analyze()``: load the sweeps, compute the tables, draw the plots, write the reports."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import gan, plots, report, tables
from .load import SweepData, load_sweeps

log = logging.getLogger(__name__)

DEFAULT_THRESHOLD = 0.99


@dataclass
class Analysis:
    data: SweepData
    threshold: float
    extra_keys: list[str]
    stats: dict[str, pd.DataFrame]
    pivots: dict[str, pd.DataFrame]
    solved: pd.DataFrame
    solved_table: pd.DataFrame
    findings: list[str]
    verdicts: list[str]
    plots: dict[str, Path] = field(default_factory=dict)
    table_files: list[Path] = field(default_factory=list)
    gan_table: pd.DataFrame | None = None  # DCGAN quality metrics per swept setting, if any GAN runs
    report_md: Path | None = None
    report_html: Path | None = None


def compute(data: SweepData, threshold: float = DEFAULT_THRESHOLD) -> Analysis:
    """Tables and findings of loaded sweeps (no files written)."""
    extra = tables.varied_keys(data.runs, data.config_columns)
    stats = {m: tables.cell_stats(data.runs, extra, m) for m in tables.METRICS}
    pivots = {m: tables.pivot(stats[m], extra, m) for m in tables.METRICS}
    solved = tables.longest_solved(stats["final_eval_acc"], extra, threshold)
    solved_table = solved.reindex(columns=[*extra, "model", "longest_T", "tested", "next_T", "next_mean"])
    solved_table = solved_table.rename(columns={
        "longest_T": f"longest T with mean acc >= {threshold:g}", "tested": "tested T",
        "next_T": "next longer T", "next_mean": "its mean acc"})
    return Analysis(
        data=data, threshold=threshold, extra_keys=extra, stats=stats, pivots=pivots,
        solved=solved, solved_table=solved_table, findings=tables.findings(solved, extra),
        verdicts=tables.verdicts(solved, extra),
    )


def _write_tables(analysis: Analysis, out_dir: Path, latex: bool) -> list[Path]:
    tdir = out_dir / "tables"
    tdir.mkdir(parents=True, exist_ok=True)
    written = []
    data = analysis.data
    data.runs.to_csv(tdir / "runs.csv", index=False)
    data.curves.to_csv(tdir / "curves.csv", index=False)
    written += [tdir / "runs.csv", tdir / "curves.csv"]
    stats = pd.concat([s for s in analysis.stats.values() if not s.empty] or [pd.DataFrame()], ignore_index=True)
    stats.to_csv(tdir / "stats.csv", index=False)
    analysis.solved.to_csv(tdir / "longest_solved.csv", index=False)
    written += [tdir / "stats.csv", tdir / "longest_solved.csv"]
    for metric, table in analysis.pivots.items():
        base = tdir / metric
        table.to_csv(base.with_suffix(".csv"), index=False)
        base.with_suffix(".md").write_text(table.to_markdown(index=False) + "\n")
        written += [base.with_suffix(".csv"), base.with_suffix(".md")]
        if latex:
            try:
                base.with_suffix(".tex").write_text(table.to_latex(index=False))
                written.append(base.with_suffix(".tex"))
            except ImportError as exc:  # DataFrame.to_latex needs jinja2
                log.warning("no LaTeX table for %s: %s", metric, exc)
    return written


def default_out_dir(paths: list[str | os.PathLike]) -> Path:
    """Where the report goes without ``--out``: the one path given (a sweep or a parent dir)."""
    if len(paths) != 1:
        raise ValueError("several paths given: choose the report's directory with --out DIR")
    return Path(paths[0])


def analyze(paths: list[str | os.PathLike], out: str | os.PathLike | None = None,
            threshold: float = DEFAULT_THRESHOLD, latex: bool = False, make_plots: bool = True) -> Analysis:
    """Analyse the sweeps found under ``paths`` and write everything into ``out``.

    Raises ``NoSweepsFound`` (a ValueError) when no path holds a sweep, ValueError when
    several paths are given without ``out``.
    """
    out_dir = Path(out) if out is not None else default_out_dir(paths)
    data = load_sweeps(paths)
    analysis = compute(data, threshold)
    out_dir.mkdir(parents=True, exist_ok=True)
    analysis.table_files = _write_tables(analysis, out_dir, latex)
    if make_plots:
        analysis.plots = plots.make_plots(data.runs, data.curves, analysis.stats["final_eval_acc"],
                                          analysis.extra_keys, threshold, out_dir / "plots")
    gan_rows = gan.gan_runs(data.runs)
    if len(gan_rows):
        table = gan.metrics_table(gan_rows)
        # the swept settings are the index: make them columns (a plain numbered index is dropped)
        analysis.gan_table = table.reset_index(drop=table.index.names == [None])
        base = out_dir / "tables" / "gan_metrics"
        analysis.gan_table.to_csv(base.with_suffix(".csv"), index=False)
        base.with_suffix(".md").write_text(analysis.gan_table.to_markdown(index=False) + "\n")
        analysis.table_files += [base.with_suffix(".csv"), base.with_suffix(".md")]
        if make_plots:
            (out_dir / "plots").mkdir(parents=True, exist_ok=True)
            analysis.plots["DCGAN: final sample grids"] = gan.gallery(
                gan_rows["job_dir"], out_dir / "plots" / "gan_gallery.png", labels=gan_rows["job"])
    doc = report.build(analysis, out_dir)
    analysis.report_md = out_dir / "report.md"
    analysis.report_html = out_dir / "report.html"
    analysis.report_md.write_text(doc.to_markdown(out_dir))
    analysis.report_html.write_text(doc.to_html())
    log.info("analysed %d runs of %d sweep(s) into %s", len(data.runs), len(data.sweeps), out_dir)
    return analysis
