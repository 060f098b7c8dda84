"""Where the Hydra configs live."""

from pathlib import Path


def config_dir() -> Path:
    """The `conf/` directory: inside the package in a built wheel, at the repo root otherwise."""
    packaged = Path(__file__).parent / "conf"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "conf"
