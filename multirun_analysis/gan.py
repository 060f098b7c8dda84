"""GAN runs: a table of the quality metrics per swept setting, and a gallery of final sample grids.

Pure functions over the runs DataFrame (one row per job; dotted config columns such as
``gan.latent_size``, ``trainer.epochs``; ``job_dir``). GAN result keys missing from the frame are
read from each job's ``summary.json`` (docs/GAN.md lists them). Reads files only, like the rest of
multirun_analysis.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

import pandas as pd

from .load import read_summary

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
#: config keys that say how a run was executed, not what was run
_NOT_SETTINGS = ("trainer.device", "trainer.log_every", "trainer.checkpoint_every", "quality.cache_dir", "data.root")
_SAMPLES = re.compile(r"samples_epoch_(\d+)\.png$")


def gan_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """The GAN rows, with every METRICS column present (filled from summary.json where missing)."""
    if runs.empty or "task" not in runs.columns:
        return runs.iloc[0:0]
    gan = runs[runs["task"] == GAN].copy()
    for key in METRICS:
        if key not in gan.columns:
            gan[key] = None
        gan[key] = gan[key].astype(object)  # filled from summary.json below: any type until to_numeric
        missing = gan[key].isna()
        if missing.any() and "job_dir" in gan.columns:
            gan.loc[missing, key] = [(read_summary(Path(d) / "summary.json")[0] or {}).get(key)
                                     for d in gan.loc[missing, "job_dir"]]
        gan[key] = pd.to_numeric(gan[key], errors="coerce")
    return gan


def swept_settings(runs: pd.DataFrame) -> list[str]:
    """Dotted config columns (and ``seed`` excluded) whose value differs between GAN runs."""
    keys = []
    for col in runs.columns:
        if "." not in col or col in _NOT_SETTINGS or col.startswith("hydra."):
            continue
        try:
            if runs[col].nunique(dropna=True) > 1:
                keys.append(col)
        except TypeError:  # list-valued settings
            continue
    return keys


def _fmt(values: pd.Series) -> str:
    values = values.dropna()
    if values.empty:
        return "-"
    if len(values) == 1:
        return f"{values.iloc[0]:.3g}"
    return f"{values.mean():.3g} ± {values.std(ddof=1):.2g} ({len(values)})"


def metrics_table(runs: pd.DataFrame, metrics=tuple(METRICS)) -> pd.DataFrame:
    """One row per swept setting: each metric as mean ± std (n) over the completed runs (seeds).

    ``runs`` counts every job of the setting; ``not completed`` those left out (failed, diverged...).
    """
    gan = gan_runs(runs)
    if gan.empty:
        return pd.DataFrame(columns=["runs", "not completed", *[METRICS.get(m, m) for m in metrics]])
    settings = swept_settings(gan)
    groups = gan.groupby(settings, dropna=False, sort=True) if settings else [((), gan)]
    rows = []
    for key, group in groups:
        key = key if isinstance(key, tuple) else (key,)
        done = group[group["status"] == "completed"] if "status" in group.columns else group
        row = dict(zip(settings, key))
        row["runs"] = len(group)
        row["not completed"] = len(group) - len(done)
        row.update({METRICS.get(m, m): _fmt(done[m]) for m in metrics})
        rows.append(row)
    table = pd.DataFrame(rows)
    return table.set_index(settings) if settings else table


def final_grid(job_dir: str | os.PathLike) -> Path | None:
    """The sample grid of the latest epoch in a job dir (None if it has none)."""
    grids = [(int(m.group(1)), p) for p in Path(job_dir).glob("samples_epoch_*.png") if (m := _SAMPLES.search(p.name))]
    return max(grids)[1] if grids else None


def gallery(job_dirs, path: str | os.PathLike, labels=None, columns: int = 4) -> Path:
    """One PNG holding the final sample grid of every job dir (a placeholder for jobs without one)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.image import imread

    job_dirs = [Path(d) for d in job_dirs]
    labels = list(labels) if labels is not None else [d.name for d in job_dirs]
    columns = max(1, min(columns, len(job_dirs)))
    rows = max(1, math.ceil(len(job_dirs) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(3 * columns, 3.3 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, job_dir, label in zip(axes.flat, job_dirs, labels):
        grid = final_grid(job_dir)
        if grid is None:
            ax.text(0.5, 0.5, "no samples", ha="center", va="center")
        else:
            ax.imshow(imread(grid), cmap="gray")
        ax.set_title(str(label), fontsize=9)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
