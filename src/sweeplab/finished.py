"""What counts as a finished run: shared by the runner and the resumable sweeper (no torch import)."""

import json

#: summary.json statuses of a finished run: it is kept as it is, never run again
FINISHED = ("completed", "diverged")


def as_recorded(config):
    """A resolved config as summary.json records it (JSON), so that the two compare equal."""
    return json.loads(json.dumps(config, default=str))
