"""Tasks: each module has `run(cfg, out_dir, overrides) -> summary dict`, chosen by `task=`."""

import importlib

TASKS = {
    "palindrome": "sweeplab.tasks.palindrome",
    "gan": "sweeplab.tasks.gan",
    "interpolate": "sweeplab.tasks.interpolate",
}


def get_task(name: str):
    """The `run` function of the task module named `name` (imported only when chosen)."""
    return importlib.import_module(TASKS[name]).run
