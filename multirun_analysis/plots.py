"""PNG plots of a palindrome sweep, drawn with matplotlib's Agg canvas (no display needed).

* ``accuracy_vs_T``: mean final held-out accuracy against T, one line per model, a ±1 std
  band over seeds, each seed as a dot; the threshold and chance level as reference lines.
* ``curve_grid``: learning (or loss) curves, rows = T, columns = model (per extra-key value),
  seeds overlaid in the same colour in every panel; unfinished runs dashed.

Figures are built with ``matplotlib.figure.Figure`` directly, so no global pyplot state or
backend switch leaks into the caller.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from .tables import model_sort_key, palindrome_runs

log = logging.getLogger(__name__)

CHANCE = 0.1  # ten digits
MODEL_COLOURS = {"rnn": "#d62728", "lstm": "#1f77b4", "lstm_cudnn": "#2ca02c"}
MODEL_MARKERS = {"rnn": "o", "lstm": "s", "lstm_cudnn": "^"}  # distinct in black and white too
OTHER_COLOURS = ["#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
SEED_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
FONT = {"font.size": 11, "axes.titlesize": 12, "axes.labelsize": 11, "legend.fontsize": 10}


def _model_colour(model: str, models: list[str]) -> str:
    if model in MODEL_COLOURS:
        return MODEL_COLOURS[model]
    others = [m for m in models if m not in MODEL_COLOURS]
    return OTHER_COLOURS[others.index(model) % len(OTHER_COLOURS)]


def _combo_label(keys: list[str], values) -> str:
    return ", ".join(f"{k}={v}" for k, v in zip(keys, values))


def _combos(runs: pd.DataFrame, keys: list[str]) -> list[tuple]:
    if not keys:
        return [()]
    return [tuple(c) for c in runs[keys].drop_duplicates().sort_values(keys).itertuples(index=False)]


def _select(df: pd.DataFrame, keys: list[str], combo: tuple) -> pd.DataFrame:
    mask = pd.Series(True, index=df.index)
    for key, value in zip(keys, combo):
        mask &= df[key].isna() if pd.isna(value) else (df[key] == value)
    return df[mask]


def _save(fig: Figure, path: Path) -> Path:
    FigureCanvasAgg(fig)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    log.info("wrote %s", path)
    return path


def accuracy_vs_T(runs: pd.DataFrame, stats: pd.DataFrame, extra_keys: list[str],
                  threshold: float, path: Path) -> Path | None:
    """Mean final accuracy against T per model with a ±1 std band; None if nothing to plot."""
    import matplotlib as mpl

    stats = stats.dropna(subset=["mean"])
    if stats.empty:
        return None
    done = palindrome_runs(runs)
    done = done[(done["status"] == "completed") & done["final_eval_acc"].notna()]
    combos = _combos(stats, extra_keys)
    models = sorted(stats["model"].unique(), key=model_sort_key)
    with mpl.rc_context(FONT):
        fig = Figure(figsize=(6.4 * len(combos), 4.6), layout="constrained")
        axes = fig.subplots(1, len(combos), squeeze=False, sharey=True)[0]
        for ax, combo in zip(axes, combos):
            sub = _select(stats, extra_keys, combo)
            for model in models:
                rows = sub[sub["model"] == model].sort_values("seq_len")
                if rows.empty:
                    continue
                colour = _model_colour(model, models)
                t = rows["seq_len"].astype(float).to_numpy()
                mean = rows["mean"].to_numpy(float)
                std = np.nan_to_num(rows["std"].to_numpy(float))
                marker = MODEL_MARKERS.get(model, "D")
                ax.plot(t, mean, "-", marker=marker, color=colour, lw=2.2, ms=7, label=f"{model}: mean over seeds")
                ax.fill_between(t, np.clip(mean - std, 0, 1), np.clip(mean + std, 0, 1),
                                color=colour, alpha=0.2, lw=0)
                seeds = _select(done, extra_keys, combo)
                seeds = seeds[seeds["model"] == model]
                ax.scatter(seeds["seq_len"].astype(float), seeds["final_eval_acc"].astype(float),
                           s=18, marker=marker, color=colour, alpha=0.55, zorder=3, edgecolors="none")
            ax.axhline(threshold, color="0.3", ls="--", lw=1.2, label=f"threshold {threshold:g}")
            ax.axhline(CHANCE, color="0.5", ls=":", lw=1.2, label="chance (1/10)")
            ax.set_xlabel("palindrome length T")
            ax.set_ylim(0, 1.04)
            ax.set_xticks(sorted(sub["seq_len"].astype(float).unique()))
            ax.grid(alpha=0.3)
            title = "Final held-out accuracy vs T (band: ±1 std over seeds)"
            ax.set_title(_combo_label(extra_keys, combo) if combo else title)
            ax.legend(loc="best")
        axes[0].set_ylabel("final held-out accuracy")
        if combos != [()]:
            fig.suptitle("Final held-out accuracy vs T (band: ±1 std over seeds; dots: single seeds)")
        return _save(fig, path)


def curve_grid(runs: pd.DataFrame, curves: pd.DataFrame, extra_keys: list[str], path: Path,
               metric: str, companion: str | None = None, ylabel: str = "",
               threshold: float | None = None, logy: bool = False) -> Path | None:
    """Grid of ``metric`` against step: rows = T, columns = model (x extra keys), one line per
    seed; ``companion`` (e.g. the training loss) is drawn thin and dotted in the same colour."""
    import matplotlib as mpl

    runs = palindrome_runs(runs).dropna(subset=["model", "seq_len"])
    data = curves[curves["metric"].isin([metric, companion])]
    data = data.merge(runs[["job", "model", "seq_len", "seed", "status", *extra_keys]], on="job")
    if data.empty:
        return None
    lengths = sorted(data["seq_len"].unique())
    columns = [(*combo, model) for combo in _combos(data, extra_keys)
               for model in sorted(_select(data, extra_keys, combo)["model"].unique(), key=model_sort_key)]
    col_keys = [*extra_keys, "model"]
    seeds = sorted(data["seed"].dropna().unique())
    seed_colour = {s: SEED_COLOURS[i % len(SEED_COLOURS)] for i, s in enumerate(seeds)}
    positive = (data["value"] > 0).all()
    with mpl.rc_context(FONT):
        fig = Figure(figsize=(4.6 * len(columns) + 0.8, 2.9 * len(lengths) + 0.9), layout="constrained")
        axes = fig.subplots(len(lengths), len(columns), squeeze=False, sharex=True, sharey=True)
        for i, t in enumerate(lengths):
            for j, col in enumerate(columns):
                ax = axes[i][j]
                cell = _select(data[data["seq_len"] == t], col_keys, col)
                unfinished = []
                for job, jd in cell.groupby("job", sort=False):
                    seed, status = jd["seed"].iloc[0], jd["status"].iloc[0]
                    colour = seed_colour.get(seed, "0.4")
                    ls = "-" if status == "completed" else "--"
                    if status != "completed":
                        unfinished.append(f"seed {seed}: {status}")
                    main = jd[jd["metric"] == metric].sort_values("step")
                    ax.plot(main["step"], main["value"], ls, color=colour, lw=1.8)
                    if companion:
                        comp = jd[jd["metric"] == companion].sort_values("step")
                        ax.plot(comp["step"], comp["value"], ":", color=colour, lw=1.1, alpha=0.8)
                if threshold is not None:
                    ax.axhline(threshold, color="0.55", ls="-.", lw=0.9)
                if unfinished:
                    ax.text(0.97, 0.5, "\n".join(unfinished), transform=ax.transAxes, ha="right", va="center",
                            color="#b00000", fontsize=9.5,
                            bbox={"facecolor": "white", "edgecolor": "#b00000", "alpha": 0.85, "pad": 3})
                if cell.empty:
                    ax.text(0.5, 0.5, "no runs", transform=ax.transAxes, ha="center", color="0.5")
                ax.grid(alpha=0.3)
                if i == 0:
                    ax.set_title(_combo_label(col_keys[:-1], col[:-1]) + ("\n" if extra_keys else "") + str(col[-1]),
                                 fontweight="bold")
                if j == 0:
                    ax.set_ylabel(f"T = {t}\n{ylabel}")
                if i == len(lengths) - 1:
                    ax.set_xlabel("step")
        if logy and positive:
            axes[0][0].set_yscale("log")
        elif not logy:
            axes[0][0].set_ylim(0, 1.04)
        handles = [Line2D([], [], color=seed_colour[s], lw=2, label=f"seed {s}") for s in seeds]
        handles.append(Line2D([], [], color="0.3", lw=1.8, ls="-", label=metric.replace("_", " ")))
        if companion:
            handles.append(Line2D([], [], color="0.3", lw=1.1, ls=":", label=companion.replace("_", " ")))
        if threshold is not None:
            handles.append(Line2D([], [], color="0.55", lw=0.9, ls="-.", label=f"threshold {threshold:g}"))
        if (data["status"] != "completed").any():
            handles.append(Line2D([], [], color="0.3", lw=1.8, ls="--", label="run not completed"))
        fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 6))
        return _save(fig, path)


def make_plots(runs: pd.DataFrame, curves: pd.DataFrame, acc_stats: pd.DataFrame,
               extra_keys: list[str], threshold: float, out_dir: Path) -> dict[str, Path]:
    """All plots into ``out_dir``; returns {title: path} of those that had data."""
    made = {
        "Final held-out accuracy against T": accuracy_vs_T(
            runs, acc_stats, extra_keys, threshold, out_dir / "accuracy_vs_T.png"),
        "Learning curves (held-out accuracy; rows T, columns model, seeds overlaid)": curve_grid(
            runs, curves, extra_keys, out_dir / "learning_curves.png", metric="eval_acc",
            companion=None, ylabel="held-out acc.", threshold=threshold),
        "Loss curves (held-out solid, training dotted; log scale)": curve_grid(
            runs, curves, extra_keys, out_dir / "loss_curves.png", metric="eval_loss",
            companion="train_loss", ylabel="cross-entropy", logy=True),
    }
    return {title: p for title, p in made.items() if p is not None}
