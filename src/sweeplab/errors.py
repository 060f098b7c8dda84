"""The exceptions for user mistakes: Hydra prints only their one-line message and exits non-zero."""

from hydra.errors import CompactHydraException


class UsageError(CompactHydraException):
    """A mistake in how sweeplab is used (a busy or foreign dir, an unusable file): one line, no traceback."""


class ConfigError(UsageError):
    """A bad setting (a value, a missing or unknown key, a combination)."""
