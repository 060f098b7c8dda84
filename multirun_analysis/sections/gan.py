"""The GAN section: quality metrics per swept setting, the final sample grids, the loss curves.

The CSV keeps numbers (mean, std, n per metric); only the Markdown/HTML table formats them. GAN result
keys are read from the runs frame (summary.json, docs/GAN.md).
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

import matplotlib as mpl
import pandas as pd
from matplotlib.image import imread
from scipy.stats import t as t_distribution

from sweeplab import contract

from ..figures import FONT, SEED_COLOURS, new_figure, save
from . import Options, SectionResult, groups, label, select, varying_keys

GAN = "gan"
#: summary.json key -> its title in reports (lower Frechet distance is better)
METRICS = {
    "fid": "Frechet distance (classifier features; lower is better)",
    "fid_real_floor": "Frechet distance, real vs real (the floor)",
    "class_entropy_bits": "class entropy, bits (max 3.32)",
    "classes_covered": "digits covered (>= 1% of samples)",
    "final_d_loss": "final D loss",
    "final_g_loss": "final G loss",
    "s_per_epoch": "seconds per epoch",
}
_SAMPLES = re.compile(r"samples_epoch_(\d+)\.png$")


def gan_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """The GAN rows, every METRICS column present and numeric."""
    if runs.empty or "task" not in runs.columns:
        return runs.iloc[0:0]
    gan = runs[(runs["task"].astype(object) == GAN).fillna(False).astype(bool)].copy()
    for key in METRICS:
        values = gan[key].astype(object) if key in gan.columns else pd.Series(None, index=gan.index, dtype=object)
        missing = values.isna()
        if missing.any() and "job_dir" in gan.columns:  # a frame built elsewhere: read summary.json
            values[missing] = [(contract.read_summary(Path(d)) or {}).get(key) if isinstance(d, str) else None
                               for d in gan.loc[missing, "job_dir"]]  # fmt: skip
        gan[key] = pd.to_numeric(values, errors="coerce").astype(float)
    return gan


def swept_settings(runs: pd.DataFrame, columns: list[str] | None = None) -> list[str]:
    """Config keys (dotted) whose value differs between GAN runs, the seed excepted."""
    columns = columns if columns is not None else [c for c in runs.columns if "." in c]
    return varying_keys(runs, columns, skip=("seed", "task"))


def metrics_numbers(runs: pd.DataFrame, settings: list[str], metrics=tuple(METRICS)) -> pd.DataFrame:
    """One row per setting: runs, completed, and `<metric>_mean/_std/_n` over the completed runs."""
    gan = gan_runs(runs)
    rows = []
    for combo in groups(gan, settings) if len(gan) else []:
        group = select(gan, settings, combo)
        done = group[group["status"].astype(object) == contract.COMPLETED]
        row = {**dict(zip(settings, combo)), "runs": len(group), "completed": len(done)}
        for m in metrics:
            values = done[m].dropna()
            row[f"{m}_mean"] = values.mean() if len(values) else math.nan
            row[f"{m}_std"] = values.std(ddof=1) if len(values) > 1 else math.nan
            row[f"{m}_n"] = len(values)
        rows.append(row)
    return pd.DataFrame(rows)


def mean_interval(row: pd.Series, metric: str = "fid") -> tuple[float, float]:
    """The 95% t-interval of a setting's mean `metric` (unbounded below 2 completed runs)."""
    n, mean, std = int(row[f"{metric}_n"]), row[f"{metric}_mean"], row[f"{metric}_std"]
    if n < 2 or not math.isfinite(std):
        return -math.inf, math.inf
    half = t_distribution.ppf(0.975, n - 1) * std / math.sqrt(n)
    return mean - half, mean + half


def clearly_lower(a: pd.Series, b: pd.Series, metric: str = "fid") -> bool:
    """Whether setting `a`'s mean is clearly below `b`'s: their 95% intervals do not overlap (the
    palindrome report's rule: a difference is named only when the intervals say so)."""
    return mean_interval(a, metric)[1] < mean_interval(b, metric)[0]


def _fmt(values: pd.Series) -> str:
    values = values.dropna()
    if values.empty:
        return "-"
    if len(values) == 1:
        return f"{values.iloc[0]:.4g}"
    return f"{values.mean():.4g} ± {values.std(ddof=1):.2g} ({len(values)})"


def metrics_table(runs: pd.DataFrame, metrics=tuple(METRICS), settings: list[str] | None = None) -> pd.DataFrame:
    """The display table: one row per swept setting (the index), each metric as `mean ± std (n)`."""
    gan = gan_runs(runs)
    if gan.empty:
        return pd.DataFrame(columns=["runs", "not completed", *[METRICS.get(m, m) for m in metrics]])
    settings = swept_settings(gan) if settings is None else settings
    rows = []
    for combo in groups(gan, settings):
        group = select(gan, settings, combo)
        done = group[group["status"].astype(object) == contract.COMPLETED]
        row = {**dict(zip(settings, combo)), "runs": len(group), "not completed": len(group) - len(done)}
        row.update({METRICS.get(m, m): _fmt(done[m]) for m in metrics})
        rows.append(row)
    table = pd.DataFrame(rows)
    return table.set_index(settings) if settings else table


def final_grid(job_dir: str | os.PathLike) -> Path | None:
    """The sample grid of the latest epoch in a job dir (None if it has none)."""
    try:
        found = [
            (int(m.group(1)), p) for p in Path(job_dir).glob("samples_epoch_*.png") if (m := _SAMPLES.search(p.name))
        ]
    except OSError:
        return None
    return max(found)[1] if found else None


def gallery(job_dirs, path: str | os.PathLike, labels=None, columns: int = 4) -> Path:
    """One PNG holding the final sample grid of every job dir (a placeholder for jobs without one)."""
    job_dirs = [Path(d) if d is not None else None for d in job_dirs]
    labels = list(labels) if labels is not None else [d.name if d else "?" for d in job_dirs]
    columns = max(1, min(columns, len(job_dirs)))
    rows = max(1, math.ceil(len(job_dirs) / columns))
    fig = new_figure(3 * columns, 3.3 * rows)
    axes = fig.subplots(rows, columns, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, job_dir, text in zip(axes.flat, job_dirs, labels):
        grid = final_grid(job_dir) if job_dir else None
        if grid is None:
            ax.text(0.5, 0.5, "no samples", ha="center", va="center")
        else:
            try:
                ax.imshow(imread(grid), cmap="gray")
            except (OSError, ValueError, SyntaxError):
                ax.text(0.5, 0.5, "unreadable image", ha="center", va="center")
        ax.set_title(str(text), fontsize=9)
    return save(fig, Path(path), dpi=100)


def gallery_order(runs: pd.DataFrame, settings: list[str]) -> tuple[pd.DataFrame, list[str]]:
    """The runs in gallery order (by setting, then seed) and their titles, e.g. `gan.latent_size=10, seed=0`."""
    ordered = runs.sort_values([*settings, "seed"], na_position="last")
    titles = [label([*settings, "seed"], tuple(r[k] for k in [*settings, "seed"])) for _, r in ordered.iterrows()]
    return ordered, titles


def loss_curves(runs: pd.DataFrame, curves: pd.DataFrame, settings: list[str], path: Path) -> Path | None:
    """D and G losses against step, one panel per setting, one colour per seed."""
    data = curves[curves["metric"].isin(["d_loss", "g_loss"])].merge(runs[["job", "seed", *settings]], on="job")
    if data.empty:
        return None
    combos = groups(data, settings)
    seeds = sorted(data["seed"].dropna().unique())
    colour = {s: SEED_COLOURS[i % len(SEED_COLOURS)] for i, s in enumerate(seeds)}
    with mpl.rc_context(FONT):
        fig = new_figure(5 * len(combos), 3.8)
        axes = fig.subplots(1, len(combos), squeeze=False, sharey=True)[0]
        for ax, combo in zip(axes, combos):
            for (_job, metric), part in select(data, settings, combo).groupby(["job", "metric"], sort=False):
                part = part.sort_values("step")
                seed = part["seed"].iloc[0]
                ax.plot(part["step"], part["value"], "-" if metric == "d_loss" else "--", color=colour.get(seed, "0.4"),
                        lw=1.4, label=f"seed {seed} {metric.replace('_', ' ')}")  # fmt: skip
            ax.set_title(label(settings, combo) or "all runs")
            ax.set_xlabel("step")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
        axes[0].set_ylabel("loss (D solid, G dashed)")
        return save(fig, path)


def build(data, options: Options) -> SectionResult | None:
    runs = gan_runs(data.runs)
    if runs.empty:
        return None
    settings = swept_settings(runs, data.config_columns)
    numbers = metrics_numbers(runs, settings)
    display = metrics_table(runs, settings=settings).reset_index(drop=not settings)
    n_settings = len(numbers)
    result = SectionResult(
        task=GAN,
        title="DCGAN" + (f" over {', '.join(settings)}" if settings else ""),
        runs=runs,
        swept=settings,
        tables={"gan_metrics": numbers},
        markdown_tables={"gan_metrics": display},
    )
    if len(numbers) and numbers["fid_n"].sum():
        best = numbers.loc[numbers["fid_mean"].idxmin()]
        where = label(settings, tuple(best[s] for s in settings)) or "all runs"
        others = numbers.drop(index=best.name)
        others = others[others["fid_n"] > 0]
        if len(others) and not all(clearly_lower(best, other) for _, other in others.iterrows()):
            result.headline.append(
                f"DCGAN: no clear difference in Frechet distance between the {len(others) + 1} settings (lowest "
                f"mean {best['fid_mean']:.4g} at {where}, {int(best['fid_n'])} completed run(s); the 95% intervals "
                "of the means overlap): more seeds would tell them apart."
            )
        else:
            result.headline.append(
                f"DCGAN: lowest Frechet distance {best['fid_mean']:.4g} at {where} "
                f"({int(best['fid_n'])} completed run(s); {n_settings} setting(s) compared)."
            )
    else:
        result.headline.append(f"DCGAN: no completed run with a Frechet distance yet ({len(runs)} run(s)).")
    if options.make_plots:
        ordered, titles = gallery_order(runs, settings)
        result.figures["DCGAN: final sample grids"] = gallery(
            [d if isinstance(d, str) else None for d in ordered["job_dir"]], options.plots_dir / "gan_gallery.png",
            labels=titles)  # fmt: skip
        curves = loss_curves(runs, data.curves, settings, options.plots_dir / "gan_losses.png")
        if curves:
            result.figures["DCGAN: discriminator and generator losses"] = curves

    def body(doc) -> None:
        doc.heading("DCGAN quality", 3)
        doc.paragraph("Frechet distance on the features of a small MNIST classifier (lower is better; the "
                      "real-vs-real floor is what a perfect generator would score) and class coverage of generated "
                      "digits; mean ± std (n) over completed seeds. See docs/GAN.md.")  # fmt: skip
        doc.table(display)

    result.body = body
    return result
