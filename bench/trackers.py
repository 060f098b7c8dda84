"""What an experiment tracker costs a run: the same palindrome run with logger=none and with a
tracker, as ratios of whole-run time (wall and CPU, the command's process from start to exit) in
this one invocation.

    python -m bench.trackers                         # 5000 steps, default model (LSTM, T = 20), logger=mlflow
    python -m bench.trackers --steps 500 --loggers mlflow tensorboard --rounds 2
    python -m bench.trackers --alone --loggers mlflow tensorboard   # each tracker's own cost, no training

Each round runs every case once, in a rotating order, each as its own `python -m sweeplab` process
into a fresh dir (early stopping off: every case trains every step); the median per case is printed.
The tracker's cost is its import, its store's creation and one write per metrics row.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run_once(overrides: list[str], run_dir: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one `python -m sweeplab` process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "sweeplab", *overrides, f"hydra.run.dir={run_dir}"],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def tracker_alone(logger: str, rows: int, out_dir: Path) -> tuple[float, float]:
    """(wall, CPU seconds of this process and the tracker's) of one job's tracker on its own, fresh:
    opening it (import, store creation), `rows` metrics rows one at a time, and the finish."""
    from hydra import compose, initialize_config_dir

    from sweeplab.job import Job
    from sweeplab.paths import config_dir
    from sweeplab.trackers import open_tracker

    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        cfg = compose("config", overrides=[f"logger={logger}"])
    start, cpu, children = time.perf_counter(), time.process_time(), resource.getrusage(resource.RUSAGE_CHILDREN)
    tracker = open_tracker(cfg, Job(out_dir), "bench")
    logged: list[dict] = []
    for step in range(1, rows + 1):
        logged.append(
            {"step": 250 * step, "train_loss": 1.0 / step, "train_acc": 0.5, "eval_loss": 1.0, "eval_acc": 0.5}
        )
        tracker.log_rows(logged)
    tracker.finish({"status": "completed", "steps_done": 250 * rows, "final_eval_acc": 0.5}, {})
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the tracker's own process, waited for by finish()
    child_cpu = (after.ru_utime - children.ru_utime) + (after.ru_stime - children.ru_stime)
    return time.perf_counter() - start, time.process_time() - cpu + child_cpu


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.trackers", description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--loggers", nargs="+", default=["mlflow"], help="trackers to compare with logger=none")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--alone", action="store_true", help="only time each tracker on its own, 20 rows")
    parser.add_argument("overrides", nargs="*", help="more sweeplab overrides, e.g. model=rnn seq_len=15")
    args = parser.parse_args(argv)
    if args.alone:
        with tempfile.TemporaryDirectory(prefix="bench-trackers-") as tmp:
            for logger in args.loggers:
                wall, cpu = tracker_alone(logger, 20, Path(tmp) / logger)
                print(f"logger={logger} on its own (open, 20 rows, finish): {wall:.2f} s wall, {cpu:.2f} s CPU")
        return
    base = [f"trainer.steps={args.steps}", "trainer.early_stop=false", "trainer.device=cpu", *args.overrides]
    cases = ["none", *args.loggers]
    times: dict[str, list[tuple[float, float]]] = {case: [] for case in cases}
    with tempfile.TemporaryDirectory(prefix="bench-trackers-") as tmp:
        for round_no in range(args.rounds):
            order = cases[round_no % len(cases) :] + cases[: round_no % len(cases)]
            for case in order:
                run_dir = Path(tmp) / f"{case}-{round_no}"
                times[case].append(run_once([*base, f"logger={case}"], run_dir))
    wall0 = statistics.median(t[0] for t in times["none"])
    cpu0 = statistics.median(t[1] for t in times["none"])
    print(f"palindrome run, {' '.join(base)}, {args.rounds} round(s), median:")
    print("| logger | wall s | wall ratio | CPU s | CPU ratio |")
    print("|---|---|---|---|---|")
    for case in cases:
        wall = statistics.median(t[0] for t in times[case])
        cpu = statistics.median(t[1] for t in times[case])
        print(f"| {case} | {wall:.1f} | {wall / wall0:.3f} | {cpu:.1f} | {cpu / cpu0:.3f} |")


if __name__ == "__main__":
    main()
