"""Both sweepers are Hydra plugins: discovered by Hydra's plugin scan, selectable as hydra/sweeper=NAME,
and built from their config as Hydra builds them (as Hydra's own plugins test themselves)."""

from hydra.core.config_store import ConfigStore
from hydra.core.plugins import Plugins
from hydra.plugins.sweeper import Sweeper

SWEEPERS = {
    "sweeplab": "hydra_plugins.sweeplab_sweeper.sweeper.SweeplabSweeper",
    "memory_length": "hydra_plugins.sweeplab_memory_sweeper.sweeper.MemoryLengthSweeper",
}


def test_hydra_discovers_both_sweepers():
    discovered = {f"{cls.__module__}.{cls.__name__}" for cls in Plugins.instance().discover(Sweeper)}
    assert set(SWEEPERS.values()) <= discovered


def test_both_are_options_of_the_hydra_sweeper_group():
    options = ConfigStore.instance().list("hydra/sweeper")
    assert {"sweeplab.yaml", "memory_length.yaml"} <= set(options)


def test_the_memory_sweeper_config_and_its_defaults(cfg_factory):
    cfg = cfg_factory(["hydra/sweeper=memory_length"], return_hydra_config=True)
    sweeper = cfg.hydra.sweeper
    assert sweeper._target_ == SWEEPERS["memory_length"]
    assert list(sweeper.models) == ["rnn", "lstm"]
    assert (sweeper.t_min, sweeper.t_max, sweeper.budget, sweeper.target_width) == (5, 100, 100, 10.0)
    assert sweeper.threshold is None and sweeper.dry_run is False  # None: the task spec's threshold
    cfg = cfg_factory(
        ["hydra/sweeper=memory_length", "hydra.sweeper.models=[rnn,gru,lstm]", "hydra.sweeper.budget=60"],
        return_hydra_config=True,
    )
    assert list(cfg.hydra.sweeper.models) == ["rnn", "gru", "lstm"] and cfg.hydra.sweeper.budget == 60


def test_hydra_builds_each_sweeper_from_its_config(cfg_factory):
    from hydra.utils import instantiate

    for name, target in SWEEPERS.items():
        cfg = cfg_factory([f"hydra/sweeper={name}"], return_hydra_config=True)
        sweeper = instantiate(cfg.hydra.sweeper)
        assert f"{type(sweeper).__module__}.{type(sweeper).__name__}" == target
        assert isinstance(sweeper, Sweeper)


def test_the_default_sweeper_is_the_resumable_one(cfg_factory):
    cfg = cfg_factory([], return_hydra_config=True)
    assert cfg.hydra.sweeper._target_ == SWEEPERS["sweeplab"]
