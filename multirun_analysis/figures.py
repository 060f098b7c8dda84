"""Shared drawing helpers: colours per model, the Agg canvas, saving (matplotlib's object API only).

Figures are built as `matplotlib.figure.Figure` objects with an Agg canvas, so no global pyplot state
or backend switch leaks into the caller (a notebook, a Hydra callback).
"""

from __future__ import annotations

import logging
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

log = logging.getLogger(__name__)

MODEL_COLOURS = {"rnn": "#d62728", "gru": "#ff7f0e", "lstm": "#1f77b4", "lstm_cudnn": "#2ca02c",
                 "lstm_triton": "#17becf"}  # fmt: skip
MODEL_MARKERS = {"rnn": "o", "gru": "v", "lstm": "s", "lstm_cudnn": "^", "lstm_triton": "P"}  # distinct in print
OTHER_COLOURS = ["#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22"]
SEED_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                "#bcbd22", "#17becf"]  # fmt: skip
FONT = {"font.size": 11, "axes.titlesize": 12, "axes.labelsize": 11, "legend.fontsize": 10}


def model_colour(model: str, models: list[str]) -> str:
    if model in MODEL_COLOURS:
        return MODEL_COLOURS[model]
    others = [m for m in models if m not in MODEL_COLOURS]
    return OTHER_COLOURS[others.index(model) % len(OTHER_COLOURS)] if model in others else "0.4"


def model_marker(model: str) -> str:
    return MODEL_MARKERS.get(model, "D")


def new_figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save(fig: Figure, path: Path, dpi: int = 110) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    log.info("wrote %s", path)
    return path
