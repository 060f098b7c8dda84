"""Command line: ``multirun-analysis SWEEP_DIR [SWEEP_DIR ...] [--out DIR] [--threshold X]``."""

from __future__ import annotations

import argparse
import logging
import sys

from .pipeline import DEFAULT_THRESHOLD, analyze

log = logging.getLogger("multirun_analysis")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="multirun-analysis",
        description="Aggregate Hydra sweeps of sweeplab runs into RNN-vs-LSTM tables, plots and a report.",
    )
    parser.add_argument("paths", nargs="+", metavar="SWEEP_DIR",
                        help="a sweep dir (holds multirun.yaml or job dirs with .hydra/), "
                             "or a parent such as multirun/ that is searched for sweeps; several combine")
    parser.add_argument("--out", metavar="DIR",
                        help="where report.md, report.html, tables/ and plots/ go "
                             "(default: the one SWEEP_DIR given; required with several)")
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD,
                        help="mean final accuracy at which a length T counts as solved (default %(default)s)")
    parser.add_argument("--latex", action="store_true", help="also write the tables as LaTeX (.tex)")
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    args = parser.parse_args(argv)
    if not 0.0 <= args.threshold <= 1.0:
        parser.error("--threshold must be between 0 and 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        analysis = analyze(args.paths, out=args.out, threshold=args.threshold,
                           latex=args.latex, make_plots=not args.no_plots)
    except ValueError as exc:  # NoSweepsFound, several paths without --out
        print(f"multirun-analysis: error: {exc}", file=sys.stderr)
        return 2
    for line in analysis.findings:
        log.info("%s", line)
    print(f"report written to {analysis.report_html}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
