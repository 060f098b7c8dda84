"""The palindrome is an instance of the generic memory section: on a small real sweep (checked in:
tests/data/palindrome_sweep, 8 tiny runs made by `sweeplab -m model=rnn,lstm seq_len=3,8 seed=0,1
trainer.steps=400 trainer.eval_every=50 data.eval_size=64 model.hidden_size=16 trainer.batch_size=32`,
kept to summary.json, metrics.csv and a trimmed multirun.yaml) its verdict, tables and CSVs are those
that the palindrome section wrote before it became one (tests/data/palindrome_sweep_report, written by
sections/palindrome.py at main 241dda6). A change of the statistics changes them on purpose: then
`python -m tests.multirun_analysis.test_memory_section` rewrites them, and the diff shows what changed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from multirun_analysis.runs import load_sweeps
from multirun_analysis.sections import Options, memory
from sweeplab import contract

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


if __name__ == "__main__":  # rewrite the expected files after a deliberate change
    written(EXPECTED)
    sys.exit(0)
