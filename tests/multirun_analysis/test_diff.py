"""`multirun-analysis diff BASE NEW` on two hand-built sweeps whose differences are known."""

from __future__ import annotations

import pandas as pd
import pytest

from multirun_analysis.__main__ import main
from multirun_analysis.diff import compare, newcombe_interval
from multirun_analysis.sections import Options
from tests.helpers import analysis_sweeps as sw
from tests.helpers.analysis_sweeps import KNOWN_FINALS, KNOWN_PARAMS

FAST = Options(make_plots=False, n_boot=500)
BASE_PROVENANCE = {"git_commit": "aaa111", "git_dirty": False, "sweeplab": "0.1.0", "torch": "2.4.0",
                   "python": "3.11.9", "device": "cpu"}  # fmt: skip


def test_newcombe_interval_matches_the_published_example():
    # Newcombe (1998), Statistics in Medicine 17:873, example (a): 56/70 vs 48/80, method 10
    d, low, high = newcombe_interval(48, 80, 56, 70)
    assert (d, low, high) == pytest.approx((0.2, 0.0524, 0.3339), abs=1e-4)


@pytest.fixture(scope="module")
def two(tmp_path_factory):
    """base: the known sweep; new: forget_bias 0, the LSTM fails at T = 15, another commit, one more length."""
    root = tmp_path_factory.mktemp("diff")
    base = sw.write_grid_sweep(root / "base", KNOWN_PARAMS,
                               lambda p: {"final": KNOWN_FINALS[(p["model"], p["seq_len"])][p["seed"]]},
                               provenance=BASE_PROVENANCE)  # fmt: skip
    params = {**KNOWN_PARAMS, "seq_len": [5, 10, 15, 20]}

    def new_outcome(p):
        if p["seq_len"] == 20:
            return {"final": 0.1}
        final = KNOWN_FINALS[(p["model"], p["seq_len"])][p["seed"]]
        return {"final": 0.12 if (p["model"] == "lstm" and p["seq_len"] == 15) else final}

    new = sw.write_grid_sweep(root / "new", params, new_outcome, forget_bias=0.0,
                              provenance={**BASE_PROVENANCE, "git_commit": "bbb222", "git_dirty": True})  # fmt: skip
    return base, new


def test_cells_are_aligned_and_flagged(two):
    diff = compare(*two, FAST)
    cells = diff.cells.set_index(["model", "seq_len"])
    lstm15 = cells.loc[("lstm", 15)]
    assert (lstm15["base_solved"], lstm15["base_n"], lstm15["new_solved"], lstm15["new_n"]) == (4, 4, 0, 4)
    # Wilson(4/4) = [0.5101, 1], Wilson(0/4) = [0, 0.4899]: -1 - 0 = -1, -1 + sqrt(0.4899^2 + 0.4899^2)
    assert (lstm15["rate_change"], lstm15["ci_low"], lstm15["ci_high"]) == pytest.approx((-1, -1, -0.3072), abs=1e-3)
    assert lstm15["flag"] == "regressed"
    assert lstm15["acc_change"] == pytest.approx(0.12 - (1.0 + 0.999 + 0.995 + 0.99) / 4)
    assert cells.loc[("rnn", 10), "flag"] == "no clear change" and cells.loc[("rnn", 10), "acc_change"] == 0
    assert "only in new: model=rnn, seq_len=20" in diff.only and "only in new: model=lstm, seq_len=20" in diff.only
    assert len(diff.per_run) == 2 * 3 * 4 + 2 * 4  # 24 aligned runs, 8 only in new
    run = diff.per_run[(diff.per_run["model"] == "lstm") & (diff.per_run["seq_len"] == 15)
                       & (diff.per_run["seed"] == 3)].iloc[0]  # fmt: skip
    assert (run["acc_base"], run["acc_new"]) == pytest.approx((0.99, 0.12))


def test_t50_change_and_what_differs(two):
    diff = compare(*two, FAST)
    memory = diff.memory.set_index("model")
    assert memory.loc["lstm", "base"].startswith("T50 > 15") and memory.loc["lstm", "new"].startswith("T50 = 12.5")
    assert memory.loc["lstm", "flag"] == "regressed"
    rnn = memory.loc["rnn"]  # the RNN's runs are the same, except T = 20 (0/4) is new: T50 stays 10
    assert rnn["change"] == pytest.approx(0.0, abs=0.6) and rnn["flag"] == "no clear change"
    settings = diff.config_changes.set_index("setting")
    assert settings.loc["model.forget_bias"].tolist() == ["1.0", "0.0"]
    assert "trainer.num_threads" not in settings.index
    provenance = diff.provenance_changes.set_index("setting")
    assert provenance.loc["provenance.git_commit"].tolist() == ["aaa111", "bbb222"]
    assert provenance.loc["provenance.git_dirty"].tolist() == ["False", "True"]


def test_diff_command_writes_markdown_html_and_tables(two, tmp_path, capsys):
    base, new = two
    out = tmp_path / "cmp"
    assert main(["diff", str(base), str(new), "--out", str(out), "-q"]) == 0
    assert capsys.readouterr().out == f"comparison written to {out / 'diff.html'}\n"
    md = (out / "diff.md").read_text()
    assert "**0 improvement(s)** and **2 regression(s)**" in md
    assert "| model.forget_bias | 1.0    | 0.0   |" in md and "bbb222" in md
    assert "lstm: T50 > 15 (solved 12/12 runs at T <= 15) → T50 = 12.5" in md
    html = (out / "diff.html").read_text()
    assert "<table" in html and "&lt;= 15" in html
    cells = pd.read_csv(out / "diff_cells.csv")
    assert {"rate_change", "ci_low", "ci_high", "acc_change", "flag"} <= set(cells.columns)


def test_diff_of_a_folder_without_palindrome_runs_is_one_line(two, tmp_path, capsys):
    gan = tmp_path / "gan"
    sw.write_gan_job(gan, 0, 10, 0, 300.0)
    assert main(["diff", str(two[0]), str(gan), "--out", str(tmp_path / "o"), "-q"]) == 2
    (err,) = capsys.readouterr().err.strip().splitlines()
    assert "holds no palindrome run" in err


def test_changes_inside_the_solved_band_are_no_improvement_and_a_sweep_against_itself_warns(tmp_path, caplog):
    """Issue 20: 0.9995 -> 1.0 in two solved pairs (a zero-width interval) was flagged an improvement."""
    params = {"model": ["lstm"], "seq_len": [5], "seed": [0, 1]}
    base = sw.write_grid_sweep(tmp_path / "base", params, lambda p: {"final": 0.9995})
    new = sw.write_grid_sweep(tmp_path / "new", params, lambda p: {"final": 1.0})
    cell = compare(base, new, FAST).cells.iloc[0]
    assert cell["flag"] == "no clear change"
    with caplog.at_level("WARNING"):
        compare(base, base, FAST)
    assert "is compared with itself" in caplog.text
