"""Where the Hydra configs live, and the `${sweeplab_cache:}` resolver for the cache root."""

import os
from pathlib import Path

from omegaconf import OmegaConf


def config_dir() -> Path:
    """The `conf/` directory: inside the package in a built wheel, at the repo root otherwise."""
    packaged = Path(__file__).parent / "conf"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "conf"


def cache_home() -> str:
    """$XDG_CACHE_HOME, or ~/.cache when it is unset or empty (the XDG spec: empty means unset;
    `${oc.env:XDG_CACHE_HOME,...}` would take the empty value and write under /)."""
    return os.environ.get("XDG_CACHE_HOME") or str(Path("~/.cache").expanduser())


def register_resolvers() -> None:
    """Make `${sweeplab_cache:}` known to OmegaConf (idempotent; before any config is resolved)."""
    if not OmegaConf.has_resolver("sweeplab_cache"):
        OmegaConf.register_new_resolver("sweeplab_cache", cache_home)


register_resolvers()  # importing this module (every entrypoint and test does) is enough
