"""The report's per-task sections: each turns its task's runs into tables, figures and report blocks.

`SECTIONS` lists them; the pipeline runs every section whose task has runs, so no task is special.
A task whose spec declares a solved rule and a difficulty axis needs no section of its own: `memory`
serves it. Another kind of task's report is one module here with `build(data, options)` returning
its SectionResult(s) or None.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from sweeplab import contract

#: models in the order they are compared and drawn (any other model follows, alphabetically)
MODEL_ORDER = ("rnn", "gru", "lstm", "lstm_cudnn", "lstm_triton")


@dataclass(frozen=True)
class Options:
    threshold: float | None = None  # the solved threshold of every task (None: each task spec's own)
    completed_only: bool = False  # count only completed runs in success rates (default: diverged/failed fail)
    make_plots: bool = True
    n_boot: int = 2000
    plots_dir: Path = Path("plots")


@dataclass
class SectionResult:
    """What one task contributes to the report."""

    task: str
    title: str  # the report title's part, e.g. "rnn vs lstm on the palindrome task"
    runs: pd.DataFrame  # this task's rows
    swept: list[str]  # config keys that vary among them (besides the seed)
    headline: list[str] = field(default_factory=list)  # the verdict, at the top of the report
    headline_figures: dict[str, Path] = field(default_factory=dict)  # shown beside the verdict
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)  # tables/<name>.csv, numbers as numbers
    markdown_tables: dict[str, pd.DataFrame] = field(default_factory=dict)  # tables/<name>.md, formatted
    figures: dict[str, Path] = field(default_factory=dict)
    body: Callable | None = None  # body(doc): the section's blocks in the report
    memory_lengths: dict[str, str] = field(default_factory=dict)  # a memory task's model -> "T50 = 17.2 [14.8, 19.9]"


def model_sort_key(name) -> tuple:
    name = str(name)
    return (MODEL_ORDER.index(name) if name in MODEL_ORDER else len(MODEL_ORDER), name)


def varying_keys(
    runs: pd.DataFrame, columns: list[str], skip: tuple[str, ...] = (), within: str | None = None
) -> list[str]:
    """Config keys that take more than one value among `runs` (within each `within` group if given).

    Keys that cannot change a result (contract.groups_results) never count, nor the `skip` keys.
    """
    keys = []
    for col in columns:
        if col in skip or col not in runs.columns or not contract.groups_results(col) or col.startswith("hydra."):
            continue
        values = runs[[col] + ([within] if within else [])].dropna(subset=[col])
        try:
            counts = values.groupby(within)[col].nunique() if within else pd.Series([values[col].nunique()])
        except TypeError:  # list-valued settings are not grouping keys
            continue
        if (counts > 1).any():
            keys.append(col)
    return keys


def select(df: pd.DataFrame, keys: list[str], values: tuple) -> pd.DataFrame:
    """The rows of `df` whose `keys` equal `values` (a missing value matches a missing value)."""
    mask = pd.Series(True, index=df.index)
    for key, value in zip(keys, values):
        mask &= df[key].isna() if pd.isna(value) else (df[key] == value).fillna(False)
    return df[mask]


def groups(df: pd.DataFrame, keys: list[str]) -> list[tuple]:
    """The distinct values of `keys` in `df`, sorted ([()] without keys)."""
    if not keys:
        return [()]
    combos = df[keys].drop_duplicates()
    try:
        combos = combos.sort_values(keys, na_position="last")
    except TypeError:
        pass
    return [tuple(c) for c in combos.itertuples(index=False)]


def label(keys: list[str], values: tuple) -> str:
    return ", ".join(f"{k}={v}" for k, v in zip(keys, values))
