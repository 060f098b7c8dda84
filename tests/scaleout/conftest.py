"""The scale-out tests' slow extras (more launcher x fault cases) run only when asked for:
`pytest -m slow tests/scaleout` (any -m expression selects them as it says) or SWEEPLAB_SLOW=1."""

import os
from pathlib import Path

import pytest

HERE = Path(__file__).parent


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "slurm: runs jobs through a real SLURM controller (skipped without one)",
    )


def pytest_collection_modifyitems(config, items):
    if config.option.markexpr or os.environ.get("SWEEPLAB_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="slow scale-out extra: pytest -m slow tests/scaleout, or SWEEPLAB_SLOW=1")
    for item in items:
        if "slow" in item.keywords and HERE in Path(str(item.fspath)).parents:
            item.add_marker(skip)
