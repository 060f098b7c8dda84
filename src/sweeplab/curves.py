"""A run's own figure: its metrics against step (curves.png)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from matplotlib.figure import Figure

from sweeplab.artifacts import atomic_write


@dataclass(frozen=True)
class Panel:
    """One subplot: the metrics.csv columns it draws (column, legend label), its y label and range."""

    ylabel: str
    lines: tuple[tuple[str, str], ...]
    ylim: tuple[float, float] | None = None


def plot_curves(rows: list[dict], panels: list[Panel], title: str, path: Path, stopped_at: int | None = None) -> None:
    """The panels side by side; every evaluation is a marked point, so a one-row run still shows."""
    steps = [r["step"] for r in rows]
    fig = Figure(figsize=(5 * len(panels), 4))  # the object API: no pyplot state, no backend switch
    for ax, panel in zip(fig.subplots(1, len(panels), squeeze=False)[0], panels):
        for column, label in panel.lines:
            ax.plot(steps, [r[column] for r in rows], marker="o", markersize=3, label=label)
        if stopped_at is not None:
            ax.axvline(stopped_at, color="grey", linestyle=":", label=f"stopped early (step {stopped_at})")
        if panel.ylim:
            ax.set_ylim(*panel.ylim)
        ax.set_xlabel("step")
        ax.set_ylabel(panel.ylabel)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=100))
