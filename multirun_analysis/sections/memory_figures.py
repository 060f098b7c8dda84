"""The memory section's figures.

* `success_rate_plot`: the fraction of runs that solve T against T per model, Wilson 95% bands, the
  fitted logistic curve, T50 with its interval (or an arrow for a censored T50). It stands beside
  the verdict at the top of the report.
* `curve_figures`: learning and loss curves, rows = T, columns = model (per grouping value), seeds
  overlaid; unfinished runs dashed, runs that stopped early (solved) end in a star.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from sweeplab import contract

from .. import stats
from ..figures import FONT, SEED_COLOURS, model_colour, model_marker, new_figure, save
from . import Options, groups, label, model_sort_key, select

CHANCE = 0.1  # ten digits
EARLY_STOP_MARKER = "*"


def _t50_label(model: str, estimate: stats.T50Estimate) -> str:
    if estimate.censored == stats.ABOVE:
        return f"{model}: T50 > {estimate.tested_max}"
    if estimate.censored == stats.BELOW:
        return f"{model}: T50 < {estimate.tested_min}"
    if estimate.t50 is None:
        return f"{model}: T50 not estimable"
    high = f"> {estimate.tested_max}" if estimate.ci_high == math.inf else f"{estimate.ci_high:.1f}"
    low = f"< {estimate.tested_min}" if estimate.ci_low == -math.inf else f"{estimate.ci_low:.1f}"
    return f"{model}: T50 = {estimate.t50:.1f} [{low}, {high}]"


def _draw_t50(ax, estimate: stats.T50Estimate, colour: str, x_range: tuple[float, float], offset: float) -> None:
    y = 0.5 + offset
    if estimate.censored == stats.ABOVE:
        ax.annotate("", xy=(estimate.tested_max + 0.06 * (x_range[1] - x_range[0]), y), xytext=(estimate.tested_max, y),
                    arrowprops={"arrowstyle": "-|>", "color": colour, "lw": 2})  # fmt: skip
        return
    if estimate.censored == stats.BELOW:
        ax.annotate("", xy=(estimate.tested_min - 0.06 * (x_range[1] - x_range[0]), y), xytext=(estimate.tested_min, y),
                    arrowprops={"arrowstyle": "-|>", "color": colour, "lw": 2})  # fmt: skip
        return
    if estimate.t50 is None:
        return
    low = max(estimate.ci_low, x_range[0])
    high = min(estimate.ci_high, x_range[1])
    ax.errorbar([estimate.t50], [y], xerr=[[estimate.t50 - low], [high - estimate.t50]], fmt="X", color=colour,
                ms=10, capsize=5, lw=2, zorder=5)  # fmt: skip
    ax.axvline(estimate.t50, color=colour, ls=":", lw=1.2)


def success_rate_plot(runs: pd.DataFrame, success: pd.DataFrame, estimates: dict, keys: list[str], options: Options,
                      path: Path, spec: contract.TaskSpec) -> Path | None:  # fmt: skip
    """Success rate against T per model; None when no run was counted."""
    from .memory import solved_text, threshold

    rule = solved_text(spec, options)
    short = f"final {'<=' if spec.solved.lower_is_better else '>='} {threshold(spec, options):g}"
    success = success[success["n"] > 0]
    if success.empty:
        return None
    combos = groups(success, keys)
    models = sorted(success["model"].unique(), key=model_sort_key)
    with mpl.rc_context(FONT):
        fig = new_figure(6.8 * len(combos), 4.8)
        axes = fig.subplots(1, len(combos), squeeze=False, sharey=True)[0]
        for ax, combo in zip(axes, combos):
            sub = select(success, keys, combo)
            lengths = sorted(sub["seq_len"].astype(float).unique())
            pad = max(1.0, 0.08 * (lengths[-1] - lengths[0]))
            x_range = (lengths[0] - pad, lengths[-1] + pad)
            for i, model in enumerate(models):
                rows = sub[sub["model"] == model].sort_values("seq_len")
                if rows.empty:
                    continue
                colour, marker = model_colour(model, models), model_marker(model)
                nudge = 0.006 * (x_range[1] - x_range[0]) * (i - (len(models) - 1) / 2)  # keep bars apart
                t = rows["seq_len"].astype(float).to_numpy() + nudge
                rate = rows["rate"].astype(float).to_numpy()
                low, high = rows["ci_low"].astype(float).to_numpy(), rows["ci_high"].astype(float).to_numpy()
                ax.fill_between(t, low, high, color=colour, alpha=0.15, lw=0)
                estimate = estimates.get((*combo, model))
                yerr = np.clip([rate - low, high - rate], 0, None)  # Wilson ends can miss 0 or 1 by 1e-16
                ax.errorbar(t, rate, yerr=yerr, fmt=marker, color=colour, ms=7, capsize=3,
                            label=_t50_label(model, estimate) if estimate else model)  # fmt: skip
                if estimate is not None and estimate.slope is not None:
                    grid = np.linspace(*x_range, 200)
                    ax.plot(grid, 1 / (1 + np.exp(-(estimate.intercept + estimate.slope * grid))), "-", color=colour,
                            lw=1.8, alpha=0.9)  # fmt: skip
                if estimate is not None:
                    _draw_t50(ax, estimate, colour, x_range, offset=0.025 * (i - (len(models) - 1) / 2))
                for x, k, n in zip(t, rows["solved"], rows["n"]):
                    ax.annotate(f"{k}/{n}", (x, float(k) / n), textcoords="offset points", xytext=(6, 4 + 9 * i),
                                fontsize=8, color=colour)  # fmt: skip
            ax.axhline(0.5, color="0.6", ls="--", lw=0.9)
            ax.set_xlim(*x_range)
            ax.set_ylim(-0.04, 1.08)
            ax.set_xticks(lengths)
            ax.set_xlabel(spec.difficulty_label)
            ax.grid(alpha=0.3)
            ax.set_title(label(keys, combo) if combo else f"Runs solving T ({short})")
            ax.legend(loc="lower left", fontsize=9)
        axes[0].set_ylabel("fraction of runs that solve T")
        if combos != [()]:
            fig.suptitle(f"Runs solving T ({rule})")
        return save(fig, path)


def curve_grid(runs: pd.DataFrame, curves: pd.DataFrame, keys: list[str], path: Path, metric: str,
               companion: str | None = None, ylabel: str = "", threshold: float | None = None,
               logy: bool = False) -> Path | None:  # fmt: skip
    """Grid of `metric` against step saved to `path`; None when there is nothing to draw."""
    fig = draw_curve_grid(runs, curves, keys, metric, companion, ylabel, threshold, logy)
    return save(fig, path) if fig is not None else None


def draw_curve_grid(runs: pd.DataFrame, curves: pd.DataFrame, keys: list[str], metric: str,
                    companion: str | None = None, ylabel: str = "", threshold: float | None = None,
                    logy: bool = False):  # fmt: skip
    """Rows = T, columns = model (x grouping values), one line per seed; a star where a run stopped early."""
    data = curves[curves["metric"].isin([metric, companion])]
    info = runs[["job", "model", "seq_len", "seed", "status", "early_stopped_at", *keys]]
    data = data.merge(info, on="job")
    if data.empty:
        return None
    lengths = sorted(data["seq_len"].dropna().unique())
    col_keys = [*keys, "model"]
    columns = [(*combo, model) for combo in groups(data, keys)
               for model in sorted(select(data, keys, combo)["model"].unique(), key=model_sort_key)]  # fmt: skip
    seeds = sorted(data["seed"].dropna().unique())
    seed_colour = {s: SEED_COLOURS[i % len(SEED_COLOURS)] for i, s in enumerate(seeds)}
    row_height = 2.9 if len(lengths) <= 6 else 2.0
    early_any = False
    with mpl.rc_context(FONT):
        fig = new_figure(4.6 * len(columns) + 0.8, row_height * len(lengths) + 0.9)
        axes = fig.subplots(len(lengths), len(columns), squeeze=False, sharex=True, sharey=True)
        for i, t in enumerate(lengths):
            for j, col in enumerate(columns):
                ax = axes[i][j]
                cell = select(data[data["seq_len"] == t], col_keys, col)
                unfinished = []
                for _, jd in cell.groupby("job", sort=False):
                    seed, status = jd["seed"].iloc[0], str(jd["status"].iloc[0])
                    colour = seed_colour.get(seed, "0.4")
                    style = "-" if status == contract.COMPLETED else "--"
                    if status != contract.COMPLETED:
                        unfinished.append(f"seed {seed}: {status}")
                    main = jd[jd["metric"] == metric].sort_values("step")
                    ax.plot(main["step"], main["value"], style, color=colour, lw=1.8, marker=".", ms=4)
                    if not pd.isna(jd["early_stopped_at"].iloc[0]) and len(main):
                        early_any = True
                        ax.plot(main["step"].iloc[-1], main["value"].iloc[-1], EARLY_STOP_MARKER, color=colour,
                                ms=13, mec="black", mew=0.6, zorder=4)  # fmt: skip
                    if companion:
                        comp = jd[jd["metric"] == companion].sort_values("step")
                        ax.plot(comp["step"], comp["value"], ":", color=colour, lw=1.1, alpha=0.8)
                if threshold is not None:
                    ax.axhline(threshold, color="0.55", ls="-.", lw=0.9)
                if unfinished:
                    ax.text(0.97, 0.5, "\n".join(unfinished), transform=ax.transAxes, ha="right", va="center",
                            color="#b00000", fontsize=9,
                            bbox={"facecolor": "white", "edgecolor": "#b00000", "alpha": 0.85, "pad": 3})  # fmt: skip
                if cell.empty:
                    ax.text(0.5, 0.5, "no runs", transform=ax.transAxes, ha="center", color="0.5")
                ax.grid(alpha=0.3)
                if i == 0:
                    ax.set_title(label(col_keys[:-1], col[:-1]) + ("\n" if keys else "") + str(col[-1]),
                                 fontweight="bold")  # fmt: skip
                if j == 0:
                    ax.set_ylabel(f"T = {t}\n{ylabel}")
                if i == len(lengths) - 1:
                    ax.set_xlabel("step")
        if logy and (data["value"] > 0).all():
            axes[0][0].set_yscale("log")
        elif not logy:
            axes[0][0].set_ylim(0, 1.04)
        handles = [Line2D([], [], color=seed_colour[s], lw=2, label=f"seed {s}") for s in seeds]
        handles.append(Line2D([], [], color="0.3", lw=1.8, label=metric.replace("_", " ")))
        if companion:
            handles.append(Line2D([], [], color="0.3", lw=1.1, ls=":", label=companion.replace("_", " ")))
        if threshold is not None:
            handles.append(Line2D([], [], color="0.55", lw=0.9, ls="-.", label=f"threshold {threshold:g}"))
        if (data["status"].astype(str) != contract.COMPLETED).any():
            handles.append(Line2D([], [], color="0.3", lw=1.8, ls="--", label="run not completed"))
        if early_any:
            handles.append(Line2D([], [], color="0.3", ls="", marker=EARLY_STOP_MARKER, ms=12, mec="black",
                                  label="stopped early (solved)"))  # fmt: skip
        fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 6))
        return fig


def curve_figures(runs: pd.DataFrame, curves: pd.DataFrame, keys: list[str], options: Options,
                  spec: contract.TaskSpec, prefix: str = "") -> dict[str, Path]:  # fmt: skip
    """The solved metric's curves and, when it is not the loss, the loss curves (files named `prefix`...)."""
    from .memory import threshold

    rule, where = spec.solved, options.plots_dir
    what = rule.what or rule.metric
    made = {
        f"Learning curves ({what}; rows T, columns model, seeds overlaid)": curve_grid(
            runs, curves, keys, where / f"{prefix}learning_curves.png", metric=rule.metric,
            ylabel=what.replace("accuracy", "acc."), threshold=threshold(spec, options), logy=rule.lower_is_better),
    }  # fmt: skip
    if rule.metric != "eval_loss" and "eval_loss" in spec.metric_columns:
        made["Loss curves (held-out solid, training dotted; log scale)"] = curve_grid(
            runs, curves, keys, where / f"{prefix}loss_curves.png", metric="eval_loss",
            companion="train_loss", ylabel="cross-entropy", logy=True)  # fmt: skip
    return {title: p for title, p in made.items() if p is not None}
