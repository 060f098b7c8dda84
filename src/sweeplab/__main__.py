"""The one entrypoint: `sweeplab [overrides]` / `python -m sweeplab [overrides]`.

Hydra composes the config from conf/ and the command line; `_entry` hands it to `run_job` and
returns the run's objective, so that Hydra's optimising sweepers (Optuna, Ax, Nevergrad) can drive
it. Nothing here imports torch: `--help`, `--cfg` and tab completion stay fast.

Every user mistake ends in one line and exit status 1: ours are UsageErrors, which Hydra prints as
one line; `one_line_errors` rewrites the multi-line messages and tracebacks that Hydra itself gives
for mistakes on the command line or in the environment (a key that does not exist, an unknown option,
an override that does not parse, a run dir that is a file or cannot be written).
"""

from __future__ import annotations

import os
import sys

from sweeplab import interrupts

if __name__ == "__main__" or os.path.basename(sys.argv[0]) == "sweeplab":  # the program, not an import (tests)
    interrupts.install()  # first: a Ctrl-C during the imports below ends in one line too

import contextlib  # noqa: E402
import errno  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import hydra  # noqa: E402
from hydra.core.hydra_config import HydraConfig
from hydra.errors import ConfigCompositionException, MissingConfigException, OverrideParseException
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigAttributeError, ConfigKeyError, OmegaConfBaseException

import sweeplab
from hydra_plugins.sweeplab_sweeper.jobs import NO_WORKERS
from sweeplab.artifacts import os_error_in
from sweeplab.config import unknown_key
from sweeplab.errors import ConfigError, UsageError
from sweeplab.finished import hydra_config_as, resolved_task_config
from sweeplab.paths import config_dir, register_resolvers
from sweeplab.preflight import Refused, check_settings
from sweeplab.runner import objective, run_job

SWEEP_PID = "SWEEPLAB_SWEEP_PID"  # the sweep process's pid, inherited by its parallel workers
QUIET_TRACKERS = "ignore:resource_tracker:UserWarning"  # a PYTHONWARNINGS filter

register_resolvers()


@hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="config")
def _entry(cfg: DictConfig) -> float | None:
    hydra_cfg = HydraConfig.get()
    multirun = hydra_cfg.mode == RunMode.MULTIRUN
    launcher = str(hydra_cfg.launcher.get("_target_", ""))
    # a child of the sweep process, which ends with it (sweeplab.orphans); not a SLURM job, which
    # outlives the command that submitted it
    in_worker = multirun and ("joblib" in launcher.lower() or launcher.endswith(".LocalLauncher"))
    try:
        summary = run_job(
            cfg,
            Path(hydra_cfg.runtime.output_dir),
            # as typed: an override such as seq_len=${oc.env:NOPE} is the runner's to refuse, not resolved here
            OmegaConf.to_container(hydra_cfg.overrides.task, resolve=False),
            multirun=multirun,
            interactive=sys.stderr.isatty(),
            sweep_pid=int(os.environ[SWEEP_PID]) if in_worker and SWEEP_PID in os.environ else None,
        )
    except UsageError as refused:
        if multirun:  # the sweep runs its other jobs, and ends non-zero
            raise
        raise Refused(refused) from None  # past Hydra's "Error executing job" frame: the one line only
    return objective(cfg, summary)


def main() -> None:
    if "--version" in sys.argv[1:] or sys.argv[1:] == ["-V"]:  # with overrides too: not Hydra's version
        print(f"sweeplab {sweeplab.__version__}")
        return
    os.environ.setdefault(SWEEP_PID, str(os.getpid()))
    # joblib's resource trackers outlive a sweep ended by a signal by a moment, and then warn of the
    # semaphores they clean up, after the one line: nothing for the user to act on
    os.environ["PYTHONWARNINGS"] = ",".join(filter(None, [os.environ.get("PYTHONWARNINGS"), QUIET_TRACKERS]))
    try:
        with one_line_errors(), checked_cfg_display():
            _entry()
    except Refused as refused:
        print(refused, file=sys.stderr)
        sys.exit(1)
    except interrupts.Stopped as stop:  # training stopped by a signal, at a checkpoint
        interrupts.last_line(str(stop))
        sys.exit(stop.exit_status)
    except KeyboardInterrupt:  # main() called without install() (in a test's process)
        print(f"interrupted; {interrupts.how_to_resume()}", file=sys.stderr)
        sys.exit(130)


@contextlib.contextmanager
def one_line_errors() -> Iterator[None]:
    """Have Hydra report the mistakes `user_error` recognises as one-line UsageErrors.

    Hydra prints what escapes composition or the run with `hydra._internal.utils.run_and_report`
    (the function behind `@hydra.main`); it is wrapped here for this process's one call of `_entry`.
    """
    import hydra._internal.utils as hydra_utils

    original = getattr(hydra_utils, "run_and_report", None)
    if original is None:  # another Hydra: its own messages, unchanged
        yield
        return

    def run_and_report(func):
        def translated():
            try:
                return func()
            except Exception as exc:
                better = exc if isinstance(exc, UsageError) else user_error(exc)
                if better is None or os.environ.get("HYDRA_FULL_ERROR") == "1":
                    raise
                raise Refused(better) from None  # main prints its one line, without Hydra's hint

        return original(translated)

    hydra_utils.run_and_report = run_and_report
    try:
        yield
    finally:
        hydra_utils.run_and_report = original


@contextlib.contextmanager
def checked_cfg_display() -> Iterator[None]:
    """`sweeplab --cfg job seq_len=abc` refuses the config in one line, as a run would, instead of
    printing it as if it were good: Hydra's `show_cfg` is wrapped for this process's one call of `_entry`.
    Only the settings are checked (no device or memory: the config may be meant for another machine)."""
    from hydra._internal.hydra import Hydra

    original = Hydra.show_cfg

    def show_cfg(self, config_name, overrides, cfg_type, package, resolve=False):
        cfg = self.compose_config(config_name=config_name, overrides=overrides, run_mode=RunMode.RUN,
                                  with_log_configuration=False)  # fmt: skip
        with hydra_config_as(cfg):  # ${hydra:...} in the task's settings
            check_settings(OmegaConf.create(resolved_task_config(cfg, Path(str(cfg.hydra.run.dir)))))
        return original(self, config_name, overrides, cfg_type, package, resolve)

    Hydra.show_cfg = show_cfg
    try:
        yield
    finally:
        Hydra.show_cfg = original


# Hydra plugins that sweeplab's presets name but installs only with an extra (pyproject.toml).
OPTIONAL_PLUGINS = {("hydra/sweeper", "optuna"): "tune"}


def user_error(exc: BaseException) -> UsageError | None:
    """The one-line UsageError for a mistake that Hydra reports in many lines, or None (a bug keeps its
    traceback; a UsageError is already one line)."""
    if isinstance(exc, UsageError):
        return None
    cause = exc.__cause__
    if isinstance(exc, MissingConfigException) and exc.missing_cfg_file and exc.options:
        group, _, option = exc.missing_cfg_file.rpartition("/")
        line = f"Could not find '{group}/{option}': the options of {group} are {', '.join(exc.options)}"
        if (group, option) in OPTIONAL_PLUGINS:  # an optional extra that is not installed
            line += f'; it comes with an optional extra: pip install -e ".[{OPTIONAL_PLUGINS[group, option]}]"'
        return ConfigError(line)
    if isinstance(exc, OverrideParseException):
        return ConfigError(
            f"{exc.override!r} is not a valid override ({_first_line(exc.message)}); write KEY=VALUE, "
            "see https://hydra.cc/docs/advanced/override_grammar/basic/"
        )
    if isinstance(exc, ConfigCompositionException):
        if isinstance(cause, (ConfigAttributeError, ConfigKeyError)) and "not in struct" in str(cause):
            parent = cause.parent_node
            siblings = list(parent.keys()) if isinstance(parent, DictConfig) else []
            return ConfigError(unknown_key(str(cause.full_key), siblings))
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        if isinstance(cause, OmegaConfBaseException):
            lines.append(_first_line(str(cause)))
        return ConfigError(" ".join(lines))
    if isinstance(exc, OmegaConfBaseException):  # e.g. hydra.run.dir=${nope}
        return ConfigError(f"the config does not resolve: {_first_line(str(exc))}")
    os_error = os_error_in(exc)  # also behind another error: logging's "Unable to configure handler"
    if os_error is not None and os_error.errno in _OS_ERRORS:
        return UsageError(_os_error(os_error))
    if isinstance(exc, ValueError) and str(exc).startswith("Config group override must be"):  # =5, model=null
        return ConfigError(_group_without_option(sys.argv[1:]))
    if isinstance(exc, ValueError) and "n_jobs == 0" in str(exc):  # joblib's
        return ConfigError(NO_WORKERS)  # under another sweeper than sweeplab's
    return None


def _group_without_option(arguments: list[str]) -> str:
    """The one line for an override that names no option of a config group (`=5`, `model=null`)."""
    for argument in arguments:
        key, equals, value = argument.partition("=")
        group = key.lstrip("+~")
        if equals and not group:
            return f"{argument!r} has no key; write KEY=VALUE, such as seq_len=5"
        options = sorted(p.stem for p in (config_dir() / group).glob("*.yaml")) if group else []
        if equals and options:
            return f"{argument!r} names no option of {group}; choose one of {', '.join(options)} ({group}=NAME)"
    return "a config group needs the name of one of its options (GROUP=NAME, such as model=lstm)"


_OS_ERRORS = {  # errno -> what it means for the output dir
    errno.EEXIST: "a file is in the way of the output dir",
    errno.ENOTDIR: "a file is in the way of the output dir",
    errno.ENOENT: "no dir can be made there",
    errno.EACCES: "this user cannot write there",
    errno.EPERM: "this user cannot write there",
    errno.EROFS: "a read-only file system",
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
}


def _os_error(exc: OSError) -> str:
    """`PATH: Not a directory (...)` for a file-system problem (Hydra's own writes, or the run's)."""
    where = f"{exc.filename}: " if exc.filename else ""
    return (
        f"{where}{exc.strerror} ({_OS_ERRORS[exc.errno]}); free it or choose another output dir "
        "(hydra.run.dir=... or hydra.sweep.dir=...)"
    )


def _first_line(text: str) -> str:
    return (text.strip().splitlines() or [""])[0]


if __name__ == "__main__":
    main()
