"""The one exception type for user mistakes."""

from hydra.errors import CompactHydraException


class ConfigError(CompactHydraException):
    """A bad setting. Hydra prints only its one-line message (no traceback) and exits non-zero."""
