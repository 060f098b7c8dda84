"""Hydra callback: analyse a sweep when the multirun ends.

Enabled by ``conf/hydra/callbacks/analysis.yaml`` (the presets ``experiment=quick``, ``rnn_vs_lstm`` and
``memory_length`` select it). Hydra does not call ``on_multirun_end`` when a job raised, so
``multirun-analysis SWEEP_DIR`` stays the dependable way to get the report.
"""

from __future__ import annotations

import logging
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import OmegaConf

from .discover import UsageError

log = logging.getLogger(__name__)


class AnalysisCallback(Callback):
    def __init__(self, threshold: float | None = None, latex: bool = False, make_plots: bool = True,
                 completed_only: bool = False) -> None:  # fmt: skip
        self.threshold = threshold
        self.latex = latex
        self.make_plots = make_plots
        self.completed_only = completed_only

    def on_multirun_end(self, config: Any, **kwargs: Any) -> None:
        """Write the report into the sweep dir; log, never raise, if that fails."""
        if OmegaConf.select(config, "hydra.sweeper.dry_run", default=False):
            return  # a dry run launched nothing
        try:
            sweep_dir = config.hydra.sweep.dir
        except Exception:  # noqa: BLE001
            log.warning("sweep analysis skipped: the config has no hydra.sweep.dir")
            return
        try:
            from .pipeline import analyze

            analysis = analyze(
                [sweep_dir],
                threshold=self.threshold,
                latex=self.latex,
                make_plots=self.make_plots,
                completed_only=self.completed_only,
            )
            log.info(
                "sweep dir %s; report: %s (multirun-analysis %s rewrites it)",
                sweep_dir,
                analysis.report_html,
                sweep_dir,
            )
        except UsageError as exc:  # e.g. a read-only sweep dir: one line, no traceback
            log.warning("sweep analysis skipped: %s", exc)
        except Exception:
            log.exception("sweep analysis of %s failed; rerun it with: multirun-analysis %s", sweep_dir, sweep_dir)
