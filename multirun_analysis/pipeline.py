"""`analyze()`: load the sweeps, build each task's section, write the tables, figures and report."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from . import report
from .discover import UsageError
from .runs import SweepData, load_sweeps
from .sections import Options, SectionResult
from .sections import gan as gan_section
from .sections import memory as memory_section

log = logging.getLogger(__name__)

DEFAULT_THRESHOLD = None  # each task spec's own (the palindrome: contract.SOLVED_THRESHOLD)
#: every kind of section, in report order (memory: one per memory task); a task without runs has none
SECTIONS = (memory_section, gan_section)
INTERNAL_COLUMNS = ("identity", "hydra_mode")


class OutputError(UsageError):
    """The report cannot be written where it should go (one line says where and what to do)."""


@dataclass
class Analysis:
    data: SweepData
    options: Options
    sections: list[SectionResult]
    table_files: list[Path] = field(default_factory=list)
    report_md: Path | None = None
    report_html: Path | None = None

    def section(self, task: str) -> SectionResult | None:
        return next((s for s in self.sections if s.task == task), None)

    @property
    def headline(self) -> list[str]:
        return [sentence for s in self.sections for sentence in s.headline]


def default_out_dir(paths: list[str | os.PathLike]) -> Path:
    """Where the report goes without `--out`: the one path given (a sweep or a parent dir)."""
    if len(paths) != 1:
        raise OutputError("several paths given: choose the report's directory with --out DIR")
    return Path(paths[0])


def check_writable(out_dir: Path, chosen: bool) -> None:
    """Refuse, in one line, a report dir that is a file or cannot be written."""
    hint = "choose another directory with --out DIR" if chosen else "write the report elsewhere with --out DIR"
    for parent in [out_dir, *out_dir.parents]:
        if parent.exists():
            if not parent.is_dir():
                raise OutputError(f"cannot write the report into {out_dir}: {parent} is a file; {hint}")
            if not os.access(parent, os.W_OK | os.X_OK):
                raise OutputError(f"cannot write the report into {out_dir}: {parent} is read-only; {hint}")
            return


def compute(data: SweepData, options: Options) -> list[SectionResult]:
    """The sections of the tasks present (no files written unless options.make_plots)."""
    results: list[SectionResult] = []
    for module in SECTIONS:
        built = module.build(data, options)
        results += built if isinstance(built, list) else [built] if built is not None else []
    return results


def _write_tables(data: SweepData, sections: list[SectionResult], out_dir: Path, latex: bool) -> list[Path]:
    tdir = out_dir / "tables"
    tdir.mkdir(parents=True, exist_ok=True)
    runs = data.runs.drop(columns=[c for c in INTERNAL_COLUMNS if c in data.runs])
    runs.to_csv(tdir / "runs.csv", index=False)
    data.curves.to_csv(tdir / "curves.csv", index=False)
    written = [tdir / "runs.csv", tdir / "curves.csv"]
    for section in sections:
        for name, table in section.tables.items():
            table.to_csv(tdir / f"{name}.csv", index=False)
            written.append(tdir / f"{name}.csv")
        for name, table in section.markdown_tables.items():
            (tdir / f"{name}.md").write_text(table.to_markdown(index=False) + "\n")
            written.append(tdir / f"{name}.md")
            if latex:
                try:
                    (tdir / f"{name}.tex").write_text(table.to_latex(index=False))
                    written.append(tdir / f"{name}.tex")
                except ImportError as exc:  # DataFrame.to_latex needs jinja2
                    log.warning("no LaTeX table for %s: %s", name, exc)
    if (by_task := memory_section.across_tasks(sections)) is not None:
        by_task.to_csv(tdir / "memory_length_by_task.csv", index=False)
        (tdir / "memory_length_by_task.md").write_text(by_task.to_markdown(index=False) + "\n")
        written += [tdir / "memory_length_by_task.csv", tdir / "memory_length_by_task.md"]
    if len(data.duplicates):
        data.duplicates.to_csv(tdir / "duplicates.csv", index=False)
        written.append(tdir / "duplicates.csv")
    return written


def analyze(paths: list[str | os.PathLike], out: str | os.PathLike | None = None,
            threshold: float | None = DEFAULT_THRESHOLD, latex: bool = False, make_plots: bool = True,
            completed_only: bool = False) -> Analysis:  # fmt: skip
    """Analyse the sweeps found under `paths` and write everything into `out` (default: the one path).

    Raises NoSweepsFound or OutputError (both ValueError) with a one-line message.
    """
    out_dir = Path(out) if out is not None else default_out_dir(paths)
    data = load_sweeps(paths)
    check_writable(out_dir, chosen=out is not None)
    options = Options(threshold=threshold, completed_only=completed_only, make_plots=make_plots,
                      plots_dir=out_dir / "plots")  # fmt: skip
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        sections = compute(data, options)
        analysis = Analysis(data=data, options=options, sections=sections)
        analysis.table_files = _write_tables(data, sections, out_dir, latex)
        doc = report.build(data, sections, options, analysis.table_files, out_dir)
        analysis.report_md, analysis.report_html = out_dir / "report.md", out_dir / "report.html"
        analysis.report_md.write_text(doc.to_markdown(out_dir))
        analysis.report_html.write_text(doc.to_html())
    except OSError as exc:
        raise OutputError(f"cannot write the report into {out_dir}: {exc.strerror or exc}; "
                          "choose another directory with --out DIR") from exc  # fmt: skip
    log.info("analysed %d runs of %d sweep(s) into %s", len(data.runs), len(data.sweeps), out_dir)
    return analysis
