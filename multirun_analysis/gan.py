"""Kept for callers of the old module (tests/gan): the GAN report is sections/gan.py."""

from .sections.gan import final_grid, gallery, gan_runs, metrics_table

__all__ = ["final_grid", "gallery", "gan_runs", "metrics_table"]
