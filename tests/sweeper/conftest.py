"""Fixtures of the sweeper tests: a sweeper set up in this process, as Hydra sets one up, without launching."""

import importlib
from pathlib import Path

import pytest


@pytest.fixture
def sweeper_setup(tmp_path):
    """make(module, cls, overrides, **settings) -> a sweeper of that class, with Hydra's config loader and
    the sweep config of `overrides` (hydra.sweep.dir is tmp_path/"sweep" unless given), and no launcher."""
    from hydra._internal.callbacks import Callbacks
    from hydra._internal.config_loader_impl import ConfigLoaderImpl
    from hydra._internal.utils import create_config_search_path
    from hydra.core.hydra_config import HydraConfig
    from hydra.core.plugins import Plugins
    from hydra.core.utils import setup_globals
    from hydra.types import HydraContext, RunMode

    from sweeplab.paths import config_dir

    setup_globals()
    # Hydra's plugin scan re-executes plugin modules: scan first, then take the classes from the modules
    Plugins.instance()
    loader = ConfigLoaderImpl(config_search_path=create_config_search_path(str(config_dir())))
    original = HydraConfig.instance().cfg

    def make(module: str, cls: str, overrides=(), **settings):
        overrides = list(overrides)
        if not any(o.startswith("hydra.sweep.dir=") for o in overrides):
            overrides.append(f"hydra.sweep.dir={Path(tmp_path) / 'sweep'}")
        config = loader.load_configuration("config", overrides=overrides, run_mode=RunMode.MULTIRUN)
        HydraConfig.instance().set_config(config)
        sweeper = getattr(importlib.import_module(module), cls)(**settings)
        sweeper.hydra_context = HydraContext(config_loader=loader, callbacks=Callbacks())
        sweeper.config = config
        return sweeper

    yield make
    HydraConfig.instance().cfg = original
