"""Readers of one run's files: bounded YAML, summary.json, metrics.csv, and Hydra override strings.

Every reader returns `(value, problem)`: the value, or None and one line saying why not (None,
None for a file that is simply absent). Files are untrusted: a YAML file is refused above a size
and above a number of nodes once its aliases are expanded (a "billion laughs" file is a few hundred
bytes that expand to 10^9 nodes), before anything is built from it.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import OverrideType

from sweeplab import contract

log = logging.getLogger(__name__)

MAX_YAML_BYTES = 1 << 20  # Hydra's files are a few kB
MAX_YAML_NODES = 100_000  # after alias expansion; Hydra writes no aliases at all
MAX_CSV_BYTES = 64 << 20
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: ~10x faster on hydra.yaml

#: config groups whose choice (`model=lstm`) is recorded as the group's `name` key
GROUP_NAME_KEYS = {"model": "model.name", "optim": "optim.name", "gan": "gan.name"}
#: group choices that only select other keys' values (those keys are in the config itself)
GROUPS_WITHOUT_KEY = {"experiment", "data", "trainer", "paths", "task"}


def _expanded_nodes(node: yaml.Node, memo: dict[int, int], limit: int) -> int:
    """Nodes of `node` as a loader would build them, counting an alias's target each time it is used."""
    key = id(node)
    if key in memo:
        return memo[key]
    memo[key] = 1  # a recursive alias counts once instead of looping
    if isinstance(node, yaml.MappingNode):
        children = [n for pair in node.value for n in pair]
    elif isinstance(node, yaml.SequenceNode):
        children = node.value
    else:
        children = []
    total = 1
    for child in children:
        total += _expanded_nodes(child, memo, limit)
        if total > limit:
            break
    memo[key] = total
    return total


def read_yaml(path: Path) -> tuple[Any, str | None]:
    """A YAML file's content, bounded in size and in expanded nodes."""
    name = f"{path.parent.name}/{path.name}"
    try:
        if not path.is_file():
            return None, None
        if path.stat().st_size > MAX_YAML_BYTES:
            return None, f"{name} refused: larger than {MAX_YAML_BYTES // 1024} kB"
        text = path.read_text(errors="replace")
        loader = _LOADER(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return None, None
            if _expanded_nodes(node, {}, MAX_YAML_NODES) > MAX_YAML_NODES:
                return None, f"{name} refused: more than {MAX_YAML_NODES} nodes once its aliases are expanded"
            return loader.construct_document(node), None
        finally:
            loader.dispose()
    except (OSError, yaml.YAMLError, ValueError, RecursionError) as exc:
        return None, f"{name} unreadable ({type(exc).__name__})"


def read_summary(job_dir: Path) -> tuple[dict | None, str | None]:
    """summary.json through the contract's one reader, with why it could not be used."""
    path = job_dir / contract.SUMMARY_FILE
    summary = contract.read_summary(job_dir)
    if summary is not None:
        return summary, None
    try:
        if not path.exists():
            return None, None
    except OSError:
        pass
    return None, "summary.json unreadable or not a JSON object"


def read_metrics(path: Path) -> tuple[pd.DataFrame | None, str | None]:
    """The numeric rows of metrics.csv sorted by step; malformed rows are skipped and counted."""
    try:
        if not path.is_file():
            return None, None
        if path.stat().st_size > MAX_CSV_BYTES:
            return None, f"metrics.csv refused: larger than {MAX_CSV_BYTES >> 20} MB"
        raw = pd.read_csv(path, on_bad_lines="skip", dtype=str)
        with open(path, "rb") as fh:
            n_lines = sum(1 for line in fh if line.strip())
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        return None, f"metrics.csv unreadable ({type(exc).__name__})"
    if "step" not in raw.columns:
        return None, "metrics.csv has no 'step' column"
    numeric = raw.apply(pd.to_numeric, errors="coerce")
    good = numeric.dropna(subset=["step"])
    notes = []
    skipped = (n_lines - 1 - len(raw)) + (len(raw) - len(good))  # unparsable lines + non-numeric steps
    if skipped:
        notes.append(f"{skipped} malformed row(s) skipped")
    garbled = int((numeric.loc[good.index].isna() & raw.loc[good.index].notna()).any(axis=1).sum())
    short = int(raw.loc[good.index].isna().any(axis=1).sum())
    if garbled:
        notes.append(f"{garbled} row(s) with non-numeric values")
    if short:
        notes.append(f"{short} incomplete row(s)")
    problem = "metrics.csv: " + ", ".join(notes) if notes else None
    good = good.astype({"step": "int64"}).sort_values("step", kind="stable").reset_index(drop=True)
    return good, problem


def read_error_line(job_dir: Path) -> str | None:
    """The last line of error.txt (the exception), or None."""
    try:
        lines = (job_dir / contract.ERROR_FILE).read_text(errors="replace").strip().splitlines()
    except OSError:
        return None
    return lines[-1] if lines else "error.txt is empty"


@functools.cache
def _parser() -> OverridesParser:
    return OverridesParser.create()


def override_values(overrides: list[str]) -> dict[str, Any]:
    """Config keys set by a job's overrides (Hydra's own parser): `model=lstm` -> {"model.name": "lstm"}.

    Sweeps, deletions, hydra.* keys and group choices without a key of their own are skipped; an
    override Hydra cannot parse is skipped too (it is still shown verbatim in the report).
    """
    values: dict[str, Any] = {}
    for text in overrides:
        try:
            (override,) = _parser().parse_overrides([str(text)])
        except Exception as exc:  # noqa: BLE001 -- Hydra raises several types; an odd override is only skipped
            log.debug("override %r not parsed: %s", text, exc)
            continue
        key = override.key_or_group
        if override.type == OverrideType.DEL or override.is_sweep_override():
            continue
        if key.startswith("hydra") or key in GROUPS_WITHOUT_KEY:
            continue
        values[GROUP_NAME_KEYS.get(key, key)] = override.value()
    return values
