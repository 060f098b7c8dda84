"""Shared fixtures: composing configs with Hydra's compose API and running the real CLI."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from sweeplab.paths import config_dir

# Settings that make a palindrome run take a fraction of a second.
TINY = [
    "trainer.steps=20",
    "trainer.eval_every=10",
    "trainer.checkpoint_every=10",
    "trainer.batch_size=16",
    "data.eval_size=100",
    "model.hidden_size=16",
    "trainer.early_stop=false",  # every step runs: tests of resume and metrics compare whole runs
    "trainer.device=cpu",  # last: GPU tests swap it with TINY[:-1]
]


def compose_config(overrides=(), return_hydra_config=False):
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        return compose("config", overrides=list(overrides), return_hydra_config=return_hydra_config)


def pytest_collection_modifyitems(config, items):
    """The markers' one rule: `gpu` tests skip without a CUDA GPU; `slow` ones run only when asked for
    (any `-m` expression, as `pytest -m slow`, or SWEEPLAB_SLOW=1), so `make test` stays fast."""
    import torch

    run_slow = bool(config.option.markexpr) or os.environ.get("SWEEPLAB_SLOW") == "1"
    skip_slow = pytest.mark.skip(reason="slow: run with pytest -m slow, or SWEEPLAB_SLOW=1")
    skip_gpu = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "slow" in item.keywords and not run_slow:
            item.add_marker(skip_slow)
        if "gpu" in item.keywords and not torch.cuda.is_available():
            item.add_marker(skip_gpu)


@pytest.fixture
def cfg_factory():
    return compose_config


def run_cli(args, cwd: Path, module: str = "sweeplab", env_extra=None, timeout: int = 300):
    """Run `python -m sweeplab ARGS` in a subprocess; return the CompletedProcess.
    `env_extra` adds variables to the environment; a value None removes one."""
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    for key, value in (env_extra or {}).items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def cli():
    return run_cli
