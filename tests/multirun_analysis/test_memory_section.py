"""The palindrome is an instance of the generic memory section: on a small real sweep (checked in:
tests/data/palindrome_sweep, 8 tiny runs made by `sweeplab -m model=rnn,lstm seq_len=3,8 seed=0,1
trainer.steps=400 trainer.eval_every=50 data.eval_size=64 model.hidden_size=16 trainer.batch_size=32`,
kept to summary.json, metrics.csv and a trimmed multirun.yaml) its verdict, tables and CSVs are those
that the palindrome section wrote before it became one (tests/data/palindrome_sweep_report, written by
sections/palindrome.py at main 241dda6, unchanged at 5e29d3a). A change of the statistics changes them on purpose: then
`python -m tests.multirun_analysis.test_memory_section` rewrites them, and the diff shows what changed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest

from multirun_analysis.pipeline import analyze
from multirun_analysis.runs import load_sweeps
from multirun_analysis.sections import Options, memory
from sweeplab import contract
from tests.helpers import analysis_sweeps as sw

DATA = Path(__file__).parents[1] / "data"
SWEEP, EXPECTED = DATA / "palindrome_sweep", DATA / "palindrome_sweep_report"


def written(out: Path) -> None:
    """The palindrome section's verdict and tables on SWEEP, as files in `out`."""
    result = memory.build_task(load_sweeps([SWEEP]), Options(make_plots=False), contract.task_spec("palindrome"))
    out.mkdir(parents=True, exist_ok=True)
    (out / "verdict.txt").write_text("\n".join(result.headline) + "\n")
    for name, table in result.tables.items():
        table.to_csv(out / f"{name}.csv", index=False)
    for name, table in result.markdown_tables.items():
        (out / f"{name}.md").write_text(table.to_markdown(index=False) + "\n")


@pytest.fixture(scope="module")
def now(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report")
    written(out)
    return out


@pytest.mark.parametrize("name", sorted(p.name for p in EXPECTED.iterdir()))
def test_the_palindrome_report_is_unchanged_on_a_real_sweep(now, name):
    assert (now / name).read_text() == (EXPECTED / name).read_text()


def test_nothing_new_or_missing(now):
    assert sorted(p.name for p in now.iterdir()) == sorted(p.name for p in EXPECTED.iterdir())


def test_the_verdict_is_the_expected_one(now):
    assert (now / "verdict.txt").read_text().startswith("The data do not say which model remembers longer: rnn T50")


def _as_adding(job: Path, solved: bool) -> None:
    """A hand-built palindrome job dir turned into an adding-problem one (held-out MSE instead of accuracy)."""
    summary = json.loads((job / "summary.json").read_text())
    summary.update(task="adding", final_eval_mse=0.001 if solved else 0.1)
    summary["config"]["task"] = "adding"
    (job / "summary.json").write_text(json.dumps(summary))
    (job / ".hydra" / "config.yaml").unlink()


def test_a_report_over_several_memory_tasks_has_one_memory_length_table(tmp_path):
    """Each memory task gets its own section (no section of its own written for it), and the report one
    table task x model -> T50 [interval]."""
    for task in ("palindrome", "adding"):
        sweep = tmp_path / task
        sw.write_multirun_yaml(sweep)
        for num, (model, t, seed) in enumerate((m, t, s) for m in ("rnn", "lstm") for t in (5, 10, 15, 20)
                                               for s in (0, 1)):  # fmt: skip
            solved = t <= (10 if model == "rnn" else 15)
            job = sw.write_job(sweep, num, model=model, seq_len=t, seed=seed, final=1.0 if solved else 0.3)
            if task == "adding":
                _as_adding(job, solved)
    analysis = analyze([tmp_path / "palindrome", tmp_path / "adding"], out=tmp_path / "out", make_plots=False)
    assert [s.task for s in analysis.sections] == ["palindrome", "adding"]
    table = pd.read_csv(tmp_path / "out" / "tables" / "memory_length_by_task.csv").set_index("task")
    assert list(table.columns) == ["rnn", "lstm"] and list(table.index) == ["palindrome", "adding"]
    assert table.loc["adding", "rnn"] == table.loc["palindrome", "rnn"]  # the same outcomes: the same T50
    assert table.loc["adding", "lstm"].startswith("T50 = 1")  # between 15 and 20
    report = (tmp_path / "out" / "report.md").read_text()
    assert "Memory length of each model on each task" in report and "## Adding: rnn vs lstm" in report
    assert (tmp_path / "out" / "tables" / "adding_success_rate.csv").is_file()


if __name__ == "__main__":  # rewrite the expected files after a deliberate change
    written(EXPECTED)
    sys.exit(0)
