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
    """$XDG_CACHE_HOME, or HOME/.cache when it is unset, empty or relative (the XDG spec: such a value
    is ignored; `${oc.env:XDG_CACHE_HOME,...}` would take "" and write under /, and a relative one
    would move with the current dir). An empty $HOME is the account's home dir, not /."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    if os.path.isabs(xdg):
        return xdg
    return str(Path(os.environ.get("HOME") or _account_home()) / ".cache")


def _account_home() -> str:
    import pwd
    import tempfile

    try:
        home = pwd.getpwuid(os.getuid()).pw_dir
    except KeyError:  # a uid without an account (some containers)
        home = ""
    return home if home not in ("", "/") else tempfile.gettempdir()


def register_resolvers() -> None:
    """Make `${sweeplab_cache:}` known to OmegaConf (idempotent; before any config is resolved)."""
    if not OmegaConf.has_resolver("sweeplab_cache"):
        OmegaConf.register_new_resolver("sweeplab_cache", cache_home)


register_resolvers()  # importing this module (every entrypoint and test does) is enough
