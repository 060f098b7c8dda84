"""search.csv: the memory-length search's record of its probes, one row per job (sweeplab.contract.SEARCH_FILE).

Written atomically before each round is launched (its rows without results) and after it (with them),
so a killed sweep leaves a record of which job number each probe got: the rerun gives the same probe
the same job dir, whatever happened in between.
"""

import csv
import io
import logging
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from sweeplab.artifacts import write_text

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Row:
    round: int
    model: str
    seq_len: int
    seed: int
    job: int
    solved: bool | None  # None: not finished (yet)
    final: float | None  # the final value of the task's solved metric (held-out accuracy, MSE)
    steps_done: int | None
    reason: str  # why the search chose this probe

    @property
    def key(self) -> tuple[str, int, int]:
        return (self.model, self.seq_len, self.seed)


COLUMNS = tuple(f.name for f in fields(Row))


def write(path: Path, rows: list[Row]) -> None:
    """Write the record atomically; an unchanged record is left as it is (a rerun that runs nothing)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: ("" if v is None else v) for k, v in asdict(row).items()} for row in rows)
    try:
        if Path(path).read_text() == buffer.getvalue():
            return
    except (OSError, UnicodeDecodeError):
        pass
    write_text(path, buffer.getvalue())


def read(path: Path) -> list[Row]:
    """The rows of an earlier search.csv; none when there is none, or when it cannot be read (logged)."""
    try:
        with open(path, newline="") as f:
            return [_row(line) for line in csv.DictReader(f)]
    except FileNotFoundError:
        return []
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("%s is unreadable (%s): the search starts from the job dirs alone", path, exc)
        return []


def _row(line: dict) -> Row:
    def optional(text: str, kind):
        return None if text in ("", None) else kind(text)

    solved = {"True": True, "False": False, "": None}[line["solved"]]
    return Row(
        round=int(line["round"]),
        model=line["model"],
        seq_len=int(line["seq_len"]),
        seed=int(line["seed"]),
        job=int(line["job"]),
        solved=solved,
        final=optional(line.get("final", line.get("final_eval_acc")), float),  # final_eval_acc: before tasks
        steps_done=optional(line["steps_done"], int),
        reason=line["reason"],
    )
