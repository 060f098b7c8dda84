"""Command line.

multirun-analysis SWEEP_DIR [SWEEP_DIR ...] [--out DIR] [--threshold X] [--completed-only]
multirun-analysis diff BASE_SWEEP NEW_SWEEP [--out DIR]
"""

from __future__ import annotations

import argparse
import logging
import sys

from sweeplab import contract

from .discover import UsageError
from .pipeline import analyze
from .sections import Options

log = logging.getLogger("multirun_analysis")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--threshold",
        type=float,
        default=None,
        help="the solved threshold of every memory task's final metric (default: each task's own, "
        f"held-out accuracy >= {contract.SOLVED_THRESHOLD} for the palindrome)",
    )
    parser.add_argument(
        "--completed-only",
        action="store_true",
        help="count only completed runs in success rates and T50 (default: a diverged or failed "
        "run counts as not solved)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")  # fmt: skip


def _check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.Namespace:
    if args.threshold is not None and not 0.0 <= args.threshold <= 1.0:
        parser.error("--threshold must be between 0 and 1")
    return args


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="multirun-analysis",
        description="Which model remembers longer, and how sure are we: tables, figures and a report of "
        "sweeplab sweeps. `multirun-analysis diff BASE NEW` compares two sweeps.",
    )
    parser.add_argument(
        "paths",
        nargs="+",
        metavar="SWEEP_DIR",
        help="a sweep dir (holds multirun.yaml or job dirs with .hydra/), or a parent such as "
        "multirun/ that is searched for sweeps; several combine (duplicates counted once)",
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        help="where report.md, report.html, tables/ and plots/ go "
        "(default: the one SWEEP_DIR given; required with several)",
    )
    parser.add_argument("--latex", action="store_true", help="also write the tables as LaTeX (.tex)")
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG figures")
    _common(parser)
    return _check(parser, parser.parse_args(argv))  # fmt: skip


def parse_diff_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="multirun-analysis diff",
        description="Compare two palindrome sweeps aligned on (model, T, seed): success rates, T50, accuracy, "
        "settings and provenance; improvements and regressions flagged.",
    )
    parser.add_argument("base", metavar="BASE", help="the reference sweep dir")
    parser.add_argument("new", metavar="NEW", help="the sweep compared with it")
    parser.add_argument("--out", metavar="DIR", help="where diff.md, diff.html and the CSVs go (default: NEW/diff)")
    _common(parser)
    return _check(parser, parser.parse_args(argv))  # fmt: skip


def _logging(quiet: bool) -> None:
    logging.basicConfig(level=logging.WARNING if quiet else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)  # fmt: skip


def _error(exc: Exception) -> int:
    print(f"multirun-analysis: error: {exc}", file=sys.stderr)
    return 2


def diff_main(argv: list[str]) -> int:
    from .diff import run_diff

    args = parse_diff_args(argv)
    _logging(args.quiet)
    options = Options(threshold=args.threshold, completed_only=args.completed_only, make_plots=False)
    try:
        _, html = run_diff(args.base, args.new, args.out, options)
    except UsageError as exc:  # no sweep, no palindrome run, cannot write
        return _error(exc)
    print(f"comparison written to {html}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["diff"]:
        return diff_main(argv[1:])
    args = parse_args(argv)
    _logging(args.quiet)
    try:
        analysis = analyze(args.paths, out=args.out, threshold=args.threshold, latex=args.latex,
                           make_plots=not args.no_plots, completed_only=args.completed_only)  # fmt: skip
    except UsageError as exc:  # no sweep found, cannot write
        return _error(exc)
    for line in analysis.headline:
        log.info("%s", line)
    print(f"report written to {analysis.report_html}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
