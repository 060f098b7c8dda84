"""Every bad input gives one line and exit status 1, never a traceback (issue 15 §8).

One table: the arguments, and the line the user must get. Three ways through the program, all of
them the real code:

- most cases: Hydra's compose API, then the runner (`run_job`: validation, the task, the model's and
  optimizer's construction, the memory check), in this process; Hydra's own composition errors go
  through `user_error`, the rewriting the entrypoint applies to them. A user mistake must come out
  as a UsageError (which Hydra prints as its one line, exit status 1); anything else is a traceback
  for the user and fails here with it.
- `via="main"`: sweeplab's entrypoint (`sweeplab.__main__.main`) in this process, for what happens
  around the runner: Hydra's run and sweep dirs, the run-dir guard, launchers.
- `cli=True`: a representative subset also as a subprocess (`python -m sweeplab ...`), which is what
  a user types; stderr must be the one line and nothing else (no "Error executing job with
  overrides", no HYDRA_FULL_ERROR hint, no "output dir:" log line).

Every case also checks that nothing was written: a refused run leaves no run dir (a corrected
command must not find it claimed), a refused sweep no sweep dir, and nothing lands in the current dir.

Placeholders in the arguments and lines: <run> (a fresh run dir), <file> (a plain file), <dir> (an
empty dir), <evil> (a checkpoint carrying a code payload), <damaged> (a truncated checkpoint),
<taken> (a run dir whose lock another writer holds), <other> (a run dir holding another config's run),
<sweep> (a sweep dir with its job 0), <home> (the home dir: $HOME is set to it), <cwd> (the current dir),
<dangling> (a symlink to <nowhere>, which does not exist).
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest

from sweeplab.paths import config_dir
from tests.conftest import TINY, compose_config, run_cli


def options(group: str) -> str:
    """A config group's options as Hydra lists them (a task folder adds its own: no list to keep here)."""
    return ", ".join(sorted(p.stem for p in (config_dir() / group).glob("*.yaml")))


# a palindrome run that takes a fraction of a second, should a case wrongly start training
PALINDROME = TINY
GAN = [
    "task=gan",
    "gan.width=4",
    "trainer.batch_size=8",
    "trainer.epochs=1",
    "trainer.max_steps_per_epoch=1",
    "trainer.samples=4",
    "trainer.device=cpu",
    "quality.enabled=false",
    "interpolation.enabled=false",
]
INTERPOLATE = ["task=interpolate", "trainer.device=cpu"]
NONE: list[str] = []


@dataclass
class Case:
    args: list[str]
    line: str  # a regular expression the one error line must match (re.search)
    base: list[str] = field(default_factory=lambda: PALINDROME)  # settings put before the case's own
    cli: bool = False  # also through a subprocess (the representative subset)
    needs: str = ""  # "no_gpu": skipped where a GPU makes it valid
    main: bool = False  # through the entrypoint even without a -m or hydra. argument (Hydra's own parsing)
    #: refused while the task reads its input (data files), after its dir was claimed: the dir then
    #: holds only the failed record (summary.json, error.txt), which the corrected command may take
    late: bool = False

    @property
    def via(self) -> str:
        """ "main" (the entrypoint) for what happens around the runner: Hydra's dirs and launchers, the
        run guard's resolution of the config; "job" (compose + run_job) for the rest."""
        around = any(a == "-m" or a.startswith("hydra.") or "${" in a for a in self.args)
        return "main" if around or self.main else "job"

    @property
    def id(self) -> str:
        return " ".join(a for a in self.args if not a.startswith("hydra.run.dir")) or "(defaults)"


def literal(text: str) -> str:
    return re.escape(text)


def not_allowed(key_value: str, rule: str) -> str:
    return literal(f"{key_value} is not allowed; it must be {rule}")


def unknown(key: str, group: str | None, task: str | None = "palindrome") -> str:
    where = f" of task={task}" if task else ""
    keys = f"the settings under {group} are" if group else "the top-level settings are"
    return (
        literal(f"{key} is not a setting{where}, so nothing would read it")
        + r"( \(did you mean [\w.]+\?\))?; "
        + literal(keys)
    )


POSITIVE = "a positive integer"
SEED = "a non-negative integer below 2**63"
TRAINER_KEYS = (
    "steps, batch_size, max_norm, eval_every, checkpoint_every, early_stop, patience, device, cuda_graph, num_threads"
)


def memory(detail: str) -> str:
    return (
        r"this run needs about [\d.]+ [KMGTP]?B of memory, most of it for .*"
        + detail
        + r".*; this machine has [\d.]+ [KMGTP]?B free"
    )


FILE_IN_THE_WAY = (
    r": (File exists|Not a directory) \(a file is in the way of the output dir\); free it or choose another output dir"
)

SCATTER = literal(", where a run would scatter its files; give it a dir of its own, such as hydra.")

CASES = [
    # --- Hydra's composition: options, keys, override syntax -------------------------------------
    Case(
        ["model=nope"],
        literal("Could not find 'model/nope': the options of model are gru, lstm, lstm_cudnn, lstm_triton, rnn"),
        cli=True,
    ),
    Case(["optim=nope"], literal("Could not find 'optim/nope': the options of optim are adam, rmsprop, sgd")),
    Case(
        ["task=nope"],
        literal(f"Could not find 'task/nope': the options of task are {options('task')}"),
        base=NONE,
    ),
    Case(["data=nope"], literal(f"Could not find 'data/nope': the options of data are {options('data')}")),
    Case(
        ["experiment=nope"],
        literal(
            "Could not find 'experiment/nope': the options of experiment are memory_length, quick, rnn_vs_lstm, tune_rnn"
        ),
    ),
    Case(
        ["hydra/launcher=nope"],
        literal("Could not find 'hydra/launcher/nope': the options of hydra/launcher are ") + ".*joblib",
    ),
    Case(["trainer.stepz=10"], unknown("trainer.stepz", "trainer", task=None) + " " + literal(TRAINER_KEYS), cli=True),
    Case(["stepz=10"], unknown("stepz", None, task=None)),
    Case(
        ["model=rnn", "model.forget_bias=1.0"],
        unknown("model.forget_bias", "model", task=None) + " name, hidden_size, init$",
    ),
    Case(["data.eval_sizee=5"], unknown("data.eval_sizee", "data", task=None) + " encoding, eval_size, eval_seed$"),
    Case(["+seed=3"], literal("Could not append to config. An item is already at 'seed'.") + ".*'seed=3'"),
    Case(
        ["seed=[1,2"],
        literal("'seed=[1,2' is not a valid override (no viable alternative at input '[1,2'); write KEY=VALUE"),
    ),
    Case(["seq_len=${oc.env:NOPE"], literal("'seq_len=${oc.env:NOPE' is not a valid override")),
    # --- Keys that nothing reads (issue 15 §8: silently ignored before) --------------------------
    Case(["+trainer.stepz=10"], unknown("trainer.stepz", "trainer") + " " + literal(TRAINER_KEYS), cli=True),
    Case(
        ["+trainer.step=100"],
        literal(
            "trainer.step is not a setting of task=palindrome, so nothing would read it (did you mean trainer.steps?)"
        ),
    ),
    Case(
        ["+foo=bar"],
        unknown("foo", None)
        + " data, (logger, )?model, optim, paths, seed, seq_len, task, trainer "
        + literal("(and +tag=... to label runs)")
        + "$",
        cli=True,
    ),
    Case(["+data.root=/tmp"], unknown("data.root", "data") + " encoding, eval_size, eval_seed$"),
    Case(["+paths.extra=1"], unknown("paths.extra", "paths") + " cache, data$"),
    Case(
        ["+optim.foo=1"],
        literal("optim=rmsprop has no setting 'foo'; its settings are lr, alpha, eps, weight_decay, momentum"),
    ),
    Case(
        ["optim=adam", "+optim.foo=1"],
        literal("optim=adam has no setting 'foo'; its settings are lr, betas, eps, weight_decay"),
    ),
    Case(["+model.foo=1"], literal("model=lstm has no setting 'foo'; its settings are hidden_size, forget_bias, init")),
    Case(
        ["model=rnn", "+model.forget_bias=1.0"],
        literal("model=rnn has no setting 'forget_bias'; its settings are hidden_size, init"),
    ),
    Case(
        ["+quality.foo=1"],
        unknown("quality.foo", "quality", task="gan") + " enabled, cache_dir, classifier_steps",
        base=GAN,
    ),
    Case(
        ["+trainer.steps=5"],
        unknown("trainer.steps", "trainer", task="gan") + " epochs, batch_size, log_every",
        base=GAN,
    ),
    Case(["+data.eval_size=5"], unknown("data.eval_size", "data", task="gan") + " name, split_seed", base=GAN),
    Case(["data=palindrome"], literal("data=palindrome is for task=palindrome; the GAN takes data=mnist5k"), base=GAN),
    Case(
        ["+interpolation.foo=1", "ckpt=<dir>"],
        unknown("interpolation.foo", "interpolation", task="interpolate"),
        base=INTERPOLATE,
    ),
    Case(
        ["+seq_len=5", "ckpt=<dir>"],
        unknown("seq_len", None, task="interpolate")
        + " ckpt, data, interpolation, (logger, )?paths, quality, seed, task, trainer ",
        base=INTERPOLATE,
    ),
    # --- Values: the palindrome task ---------------------------------------------------------------
    Case(["seq_len=1"], not_allowed("seq_len=1", "an integer >= 2 (the palindrome length T)"), cli=True),
    Case(["seq_len=2.5"], not_allowed("seq_len=2.5", "an integer >= 2")),
    Case(["seq_len=abc"], not_allowed("seq_len='abc'", "an integer >= 2")),
    Case(["seq_len=-3"], not_allowed("seq_len=-3", "an integer >= 2")),
    Case(["seq_len=null"], not_allowed("seq_len=None", "an integer >= 2")),
    Case(["~seq_len"], literal("seq_len is missing; it must be an integer >= 2")),
    Case(["seed=-1"], not_allowed("seed=-1", SEED)),
    Case(["seed=1.5"], not_allowed("seed=1.5", SEED)),
    Case(["seed=abc"], not_allowed("seed='abc'", SEED)),
    Case(["seed=99999999999999999999"], not_allowed("seed=99999999999999999999", SEED), cli=True),
    Case(["model.hidden_size=0"], not_allowed("model.hidden_size=0", POSITIVE)),
    Case(["model.hidden_size=abc"], not_allowed("model.hidden_size='abc'", POSITIVE)),
    Case(["model.hidden_size=1.5"], not_allowed("model.hidden_size=1.5", POSITIVE)),
    Case(["model.init=nope"], not_allowed("model.init='nope'", "one of xavier, orthogonal, torch")),
    Case(["model.forget_bias=abc"], not_allowed("model.forget_bias='abc'", "of type float (a number)")),
    Case(
        ["model.forget_bias=nan"],
        literal("model.forget_bias=nan is not allowed; a setting must be a finite number"),
        cli=True,
    ),
    Case(["model.forget_bias=inf"], literal("model.forget_bias=inf is not allowed; a setting must be a finite number")),
    Case(["data.encoding=binary"], not_allowed("data.encoding='binary'", "one of one_hot, scalar")),
    Case(["data.eval_size=0"], not_allowed("data.eval_size=0", "an integer >= 100")),
    Case(["data.eval_size=1"], not_allowed("data.eval_size=1", "an integer >= 100 (a held-out set on which")),
    Case(["data.eval_seed=abc"], not_allowed("data.eval_seed='abc'", SEED)),
    Case(["data.eval_seed=-1"], not_allowed("data.eval_seed=-1", SEED)),
    Case(
        ["data=mnist5k", "trainer.device=cpu"],
        literal("data=mnist5k is for task=gan; the palindrome task takes data=palindrome"),
        base=NONE,
    ),
    Case(["data=mnist5k"], unknown("data.eval_size", "data", task=None) + " name, split_seed"),
    Case(["trainer.steps=0"], not_allowed("trainer.steps=0", POSITIVE)),
    Case(["trainer.steps=abc"], not_allowed("trainer.steps='abc'", POSITIVE)),
    Case(["trainer.batch_size=-4"], not_allowed("trainer.batch_size=-4", POSITIVE)),
    Case(["trainer.max_norm=0"], not_allowed("trainer.max_norm=0", "a positive number")),
    Case(["trainer.max_norm=inf"], literal("trainer.max_norm=inf is not allowed; a setting must be a finite number")),
    Case(["trainer.eval_every=0"], not_allowed("trainer.eval_every=0", POSITIVE)),
    Case(["trainer.checkpoint_every=0"], not_allowed("trainer.checkpoint_every=0", POSITIVE)),
    Case(["trainer.device=gpu"], not_allowed("trainer.device='gpu'", "auto, cpu, cuda or cuda:N")),
    Case(["trainer.device=cuda"], literal("trainer.device=cuda but no CUDA GPU is available here"), needs="no_gpu"),
    Case(["trainer.cuda_graph=maybe"], not_allowed("trainer.cuda_graph='maybe'", "one of True, False, auto")),
    Case(["trainer.num_threads=0"], not_allowed("trainer.num_threads=0", "a positive integer or null")),
    Case(["trainer.early_stop=maybe"], not_allowed("trainer.early_stop='maybe'", "true or false")),
    Case(["trainer.patience=0"], not_allowed("trainer.patience=0", POSITIVE)),
    Case(
        ["model=lstm_triton"],
        literal("model=lstm_triton runs Triton kernels on a CUDA GPU, not on cpu"),
        needs="no_gpu",
    ),
    Case(
        ["model=lstm_triton", "trainer.device=auto", "model.block_b=24"],
        literal("model.block_b=24 is not allowed; it must be 16, 32 or 64"),
        needs="gpu_or_interpreter",
    ),
    # --- Values: the optimizer ----------------------------------------------------------------------
    Case(["optim.lr=0"], not_allowed("optim.lr=0", "a positive number up to 1e+06")),
    Case(["optim.lr=-1e-3"], not_allowed("optim.lr=-0.001", "a positive number up to 1e+06")),
    Case(["optim.lr=1e300"], not_allowed("optim.lr=1e+300", "a positive number up to 1e+06"), cli=True),
    Case(["optim.lr=abc"], not_allowed("optim.lr='abc'", "a positive number up to 1e+06")),
    Case(["optim.lr=nan"], literal("optim.lr=nan is not allowed; a setting must be a finite number")),
    Case(["optim.weight_decay=-1"], not_allowed("optim.weight_decay=-1", "a number from 0 to 1e+06")),
    Case(["optim.weight_decay=abc"], not_allowed("optim.weight_decay='abc'", "a number from 0 to 1e+06")),
    Case(["optim=sgd", "optim.momentum=-1"], not_allowed("optim.momentum=-1", "a number from 0 to 1")),
    Case(["optim=sgd", "optim.momentum=2"], not_allowed("optim.momentum=2", "a number from 0 to 1")),
    Case(["optim=adam", "optim.betas=[2,3]"], not_allowed("optim.betas=[2, 3]", "two numbers from 0 to below 1")),
    Case(["optim=adam", "+optim.eps=abc"], literal("optim.eps='abc' is not allowed; it must be of type float")),
    # --- Interpolations in overrides (resolved by the run guard before the runner) ------------------
    Case(
        ["seq_len=${oc.env:NOPE}"],
        literal("the config does not resolve: ") + ".*Environment variable 'NOPE' not found",
        cli=True,
    ),
    Case(["seq_len=${nope}"], literal("the config does not resolve: Interpolation key 'nope' not found")),
    Case(
        ['seq_len=${oc.decode:"[1"}'],
        literal("the config does not resolve: GrammarParseError raised while resolving interpolation"),
    ),
    Case(["hydra.run.dir=${nope}"], literal("the config does not resolve: Interpolation key 'nope' not found")),
    # --- Memory: refused before allocating (issue 15 §6) --------------------------------------------
    Case(["seq_len=10000000", "trainer.steps=1"], memory(literal("seq_len=10000000")), cli=True),
    Case(["trainer.batch_size=1000000000"], memory(literal("trainer.batch_size=1000000000"))),
    Case(["data.eval_size=1000000000"], memory("the held-out set")),
    Case(["model.hidden_size=1000000"], memory("the parameters and optimizer state")),
    Case(["gan.width=1000000"], memory(literal("gan.width=1000000")), base=GAN),
    Case(
        ["quality.enabled=true", "quality.samples=1000000000", "quality.cache_dir=<dir>"],
        memory("the generated images"),
        base=GAN,
    ),
    # --- Values: the GAN ------------------------------------------------------------------------------
    Case(
        ["trainer.sample_epochs=3"],
        literal(
            "trainer.sample_epochs=3 is not allowed; it must be null or a list of epochs between 1 and trainer.epochs=1"
        ),
        base=GAN,
    ),
    Case(["trainer.sample_epochs=[0]"], literal("trainer.sample_epochs=[0] is not allowed"), base=GAN),
    Case(["trainer.sample_epochs=[]"], literal("trainer.sample_epochs=[] is not allowed"), base=GAN),
    Case(
        ["gan.latent_size=0"],
        not_allowed("gan.latent_size=0", "a positive integer (the latent size, 100 in DCGAN)"),
        base=GAN,
    ),
    Case(["gan.width=0"], not_allowed("gan.width=0", POSITIVE), base=GAN),
    Case(["data.split_seed=-1"], not_allowed("data.split_seed=-1", SEED), base=GAN),
    Case(["data.reference_size=1"], not_allowed("data.reference_size=1", "an integer >= 2"), base=GAN),
    Case(["data.train_size=0"], not_allowed("data.train_size=0", "null or a positive integer"), base=GAN),
    Case(["trainer.epochs=0"], not_allowed("trainer.epochs=0", POSITIVE), base=GAN),
    Case(["trainer.channels_last=maybe"], not_allowed("trainer.channels_last='maybe'", "true or false"), base=GAN),
    Case(["quality.samples=1"], not_allowed("quality.samples=1", "an integer >= 2"), base=GAN),
    Case(["quality.classifier_seed=abc"], not_allowed("quality.classifier_seed='abc'", SEED), base=GAN),
    Case(["interpolation.frames=1"], not_allowed("interpolation.frames=1", "an integer >= 2"), base=GAN),
    Case(["interpolation.from_digit=10"], not_allowed("interpolation.from_digit=10", "null or a digit 0-9"), base=GAN),
    Case(["optim.lr=nan"], literal("optim.lr=nan is not allowed; a setting must be a finite number"), base=GAN),
    Case(
        ["quality.enabled=true", "quality.cache_dir=<file>"],
        literal("quality.cache_dir=<file> cannot be created (File exists)"),
        base=GAN,
    ),
    Case(["data=mnist", "data.root=<dir>", "data.download=false"], literal("data.download=false"), base=GAN, late=True),
    # --- task=interpolate ---------------------------------------------------------------------------------
    Case([], literal("task=interpolate needs ckpt=PATH: a GAN run dir or its checkpoint.pt"), base=INTERPOLATE),
    Case(["ckpt=<dir>"], literal("ckpt=<dir>: no GAN checkpoint there"), base=INTERPOLATE),
    Case(
        ["ckpt=<evil>"],
        literal("holds Python objects beyond tensors and plain containers; refused"),
        base=INTERPOLATE,
        cli=True,
    ),
    Case(["ckpt=<damaged>"], literal("is damaged or not a torch checkpoint"), base=INTERPOLATE),
    Case(
        ["ckpt=<damaged>", "interpolation.from_digit=3", "interpolation.to_digit=3"],
        literal("interpolation.from_digit and interpolation.to_digit are both 3"),
        base=INTERPOLATE,
    ),
    # --- Run and sweep dirs -----------------------------------------------------------------------------
    Case(["hydra.run.dir=<file>"], literal("<file>") + FILE_IN_THE_WAY, cli=True),
    Case(["hydra.run.dir=<file>/run"], literal("<file>/run") + FILE_IN_THE_WAY),
    Case(["-m", "hydra.sweep.dir=<file>"], literal("<file>") + FILE_IN_THE_WAY, cli=True),
    Case(["-m", "hydra.sweep.dir=<file>/sweep"], literal("<file>/sweep") + FILE_IN_THE_WAY),
    Case(
        ["hydra.run.dir=<taken>"],
        literal("<taken> is in use by pid ") + r"\d+ on .+: a run dir has one writer at a time",
    ),
    Case(
        ["hydra.run.dir=<other>"],
        literal("<other> already holds a run of another config (seq_len=99 there, ")
        + r"\d+ here; .*"
        + literal("); rerun the same command or choose a new output dir"),
    ),
    Case(
        ["-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=0", "hydra.sweep.dir=<run>"],
        literal("hydra.launcher.n_jobs=0 is not allowed; it must be a positive number of parallel jobs"),
        cli=True,
    ),
    Case(
        ["-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=abc"],
        literal("Error merging override hydra.launcher.n_jobs=abc") + ".*could not be converted to Integer",
    ),
    # --- Dirs a run must not scatter its files into (issue 20 §1) -----------------------------------------
    Case(["hydra.run.dir=/"], literal("hydra.run.dir=/ is the file system's root") + SCATTER, cli=True),
    Case(["hydra.run.dir="], literal("hydra.run.dir is empty, which means the current dir; give it a dir of its own")),
    Case(["hydra.run.dir=."], literal("hydra.run.dir=. is the current dir") + SCATTER),
    Case(["hydra.run.dir=<cwd>"], literal("hydra.run.dir=<cwd> is the current dir") + SCATTER),
    Case(["hydra.run.dir=.."], literal("hydra.run.dir=.. holds the current dir") + SCATTER),
    Case(["hydra.run.dir=<home>"], literal("hydra.run.dir=<home> is the home dir") + SCATTER),
    Case(["-m", "hydra.sweep.dir="], literal("hydra.sweep.dir is empty, which means the current dir")),
    Case(["-m", "hydra.sweep.dir=/"], literal("hydra.sweep.dir=/ is the file system's root") + SCATTER),
    Case(["-m", "hydra.sweep.dir=<home>"], literal("hydra.sweep.dir=<home> is the home dir") + SCATTER),
    Case(["hydra.run.dir=/proc/x"], literal("/proc/x: No such file or directory (no dir can be made there)"), cli=True),
    # --- A run and a sweep never share a dir, nor nest (§8) -------------------------------------------------
    Case(
        ["-m", "hydra.sweep.dir=<other>"],
        literal("hydra.sweep.dir=<other> holds a single run (summary.json), and a sweep cannot share it"),
    ),
    Case(
        ["hydra.run.dir=<sweep>"],
        literal("hydra.run.dir=<sweep> holds a sweep (multirun.yaml), and a single run cannot share it"),
    ),
    Case(
        ["-m", "hydra.sweep.dir=<sweep>/0/inner"],
        literal("hydra.sweep.dir=<sweep>/0/inner lies inside the run in <sweep>/0; give it a dir of its own"),
    ),
    Case(["hydra.run.dir=<other>/inner"], literal("hydra.run.dir=<other>/inner lies inside the run in <other>")),
    Case(
        ["-m", "hydra.sweep.subdir=../../escaped"],
        literal("hydra.sweep.subdir puts job 0 in <run>/../../escaped, outside its sweep dir <run>"),
    ),
    # --- A sweep's jobs are checked before any is launched (§3, §2) -----------------------------------------
    Case(
        ["-m", "seq_len=5,abc"],
        literal("job 1 (seq_len=abc): ") + not_allowed("seq_len='abc'", "an integer >= 2"),
        cli=True,
    ),
    Case(
        ["-m", "model=rnn", "+trainer.stepz=20"],
        literal("job 0 (") + r".*model=rnn \+trainer.stepz=20\): " + unknown("trainer.stepz", "trainer"),
    ),
    Case(
        ["-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=1000", "model=rnn,lstm"],
        literal("hydra.launcher.n_jobs=1000 is far above this machine's ")
        + r"\d+ cores: each worker holds its own torch; use at most \d+",
        cli=True,
    ),
    # --- Silent oddities (issue 20, should-fix) ---------------------------------------------------------------
    Case(
        ["experiment=quick"], literal("experiment=quick is a sweep, and this command runs one job: add -m"), main=True
    ),
    Case(["hydra.sweeper.dry_run=true"], literal("hydra.sweeper.dry_run=true plans a sweep") + ".*add -m"),
    Case(["seq_len=5_0"], literal("seq_len=5_0 has a number with '_' in it"), main=True),
    Case(["--cfg", "job", "seq_len=abc"], not_allowed("seq_len='abc'", "an integer >= 2"), main=True),
    Case(["-m", "seq_len=5_0,10"], literal("seq_len=5_0,10 has a number with '_' in it")),
    Case(
        ["-m", "seq_len=5,5"], literal("jobs 0 and 1 are the same run (") + ".*" + literal("list each swept value once")
    ),
    Case(["-m", "seq_len=range(5,5)"], literal("this sweep has no jobs: a swept list is empty")),
    Case(["trainer.device=cuda:abc"], not_allowed("trainer.device='cuda:abc'", "auto, cpu, cuda or cuda:N")),
    Case(["trainer.steps=99999999999999999999"], not_allowed("trainer.steps=99999999999999999999", POSITIVE)),
    Case(
        ["hydra.run.dir=<dangling>"],
        literal("hydra.run.dir=<dangling> is a symlink to <nowhere>, which does not exist"),
    ),
    # --- Overrides that name no option (§11) ------------------------------------------------------------------
    Case(["=5"], literal("'=5' has no key; write KEY=VALUE, such as seq_len=5"), cli=True, main=True),
    Case(
        ["model=null"],
        literal("'model=null' names no option of model; choose one of gru, lstm, lstm_cudnn, lstm_triton, rnn"),
        cli=True,
        main=True,
    ),
]


def the_one_line(stderr: str) -> list[str]:
    """What stderr says: one line when all is well (Hydra's frame around it, or a log line, is a fault)."""
    return [line for line in stderr.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def places(tmp_path_factory):
    """The files and dirs the placeholders name (made once; no case writes into them)."""
    import torch

    from sweeplab.lock import hold

    root = tmp_path_factory.mktemp("places")
    (root / "a_file").write_text("not a dir\n")
    (root / "empty").mkdir()
    evil_marker = root / "payload_ran"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {evil_marker}",))

    torch.save({"generator": {}, "config": {}, "x": Payload()}, root / "evil.pt")
    torch.save({"generator": {"w": torch.zeros(1000)}, "config": {}}, root / "whole.pt")
    (root / "damaged.pt").write_bytes((root / "whole.pt").read_bytes()[:300])
    other = root / "other"
    other.mkdir()
    (other / "summary.json").write_text(
        json.dumps({"status": "completed", "task": "palindrome", "config": {"seq_len": 99}})
    )
    sweep = root / "sweep"
    (sweep / "0").mkdir(parents=True)
    (sweep / "multirun.yaml").write_text("hydra: {}\n")
    (sweep / "0" / "summary.json").write_text((other / "summary.json").read_text())
    (root / "home").mkdir()
    (root / "dangling").symlink_to(root / "nowhere")
    taken = root / "taken"
    taken.mkdir()
    with hold(taken, "run dir"):  # another writer, for the whole module (a lock is per open file)
        yield {
            "file": root / "a_file",
            "dir": root / "empty",
            "evil": root / "evil.pt",
            "damaged": root / "damaged.pt",
            "other": other,
            "sweep": sweep,
            "home": root / "home",
            "dangling": root / "dangling",
            "nowhere": root / "nowhere",
            "taken": taken,
            "evil_marker": evil_marker,
        }


def arguments(case: Case, places: dict, run_dir, cwd) -> list[str]:
    args = [*case.base, *case.args]
    if "-m" in args:  # Hydra's flags come before the overrides
        args = ["-m", *[a for a in args if a != "-m"]]
    if "--cfg" in args:
        at = args.index("--cfg")
        args = [*args[at : at + 2], *args[:at], *args[at + 2 :]]
    for name, path in {**places, "run": run_dir, "cwd": cwd}.items():
        args = [a.replace(f"<{name}>", str(path)) for a in args]
    if not any(a.startswith(("hydra.run.dir=", "hydra.sweep.dir=")) for a in args):
        args.append(f"hydra.sweep.dir={run_dir}" if "-m" in args else f"hydra.run.dir={run_dir}")
    return args


def environment(case: Case, places: dict) -> dict:
    """$HOME for a case about the home dir (never the real one: a failing case would write there)."""
    return {"HOME": str(places["home"])} if any("<home>" in a for a in case.args) else {}


def expected_line(case: Case, places: dict, run_dir=None, cwd=None) -> str:
    pattern = case.line
    for name, path in {**places, "run": run_dir, "cwd": cwd}.items():
        pattern = pattern.replace(f"<{name}>", re.escape(str(path)))
    return pattern


def check_nothing_written(case: Case, run_dir, cwd) -> None:
    """A refused run or sweep leaves no dir of its own, and nothing in the current dir or beside it."""
    if case.late and run_dir.exists():
        from sweeplab.finished import holds_results

        assert json.loads((run_dir / "summary.json").read_text())["status"] == "failed"
        assert not holds_results(run_dir), f"{case.args} left {sorted(p.name for p in run_dir.iterdir())}"
    else:
        assert not run_dir.exists(), f"{case.args} left {sorted(p.name for p in run_dir.iterdir())} in its run dir"
    assert not (cwd.parent / "escaped").exists(), f"{case.args} wrote outside its sweep dir"
    litter = [p.name for p in cwd.iterdir() if p != run_dir and not p.name.startswith("run")]
    assert not litter, f"{case.args} wrote {litter} into the current dir"


def skip_unless_applicable(case: Case) -> None:
    import torch

    if case.needs == "no_gpu" and torch.cuda.is_available():
        pytest.skip("valid where a CUDA GPU is present")
    if case.needs == "gpu_or_interpreter" and not (torch.cuda.is_available() or os.environ.get("TRITON_INTERPRET")):
        pytest.skip("model=lstm_triton's settings are checked where it can run (GPU, or TRITON_INTERPRET=1)")


def run_in_process(args: list[str], cwd, capfd, monkeypatch, env=None) -> tuple[int, str, str]:
    """sweeplab's entrypoint on `args` in this process: (exit status, stdout, stderr)."""
    from sweeplab.__main__ import main

    monkeypatch.chdir(cwd)
    for key, value in (env or {}).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(sys, "argv", ["sweeplab", *args])
    monkeypatch.delenv("HYDRA_FULL_ERROR", raising=False)
    monkeypatch.setenv("SWEEPLAB_SWEEP_PID", str(os.getpid()))
    capfd.readouterr()
    status = 0
    # Hydra configures the root logger for the process; later tests must not log through its handlers
    handlers, level = logging.root.handlers[:], logging.root.level
    with warnings.catch_warnings():
        warnings.simplefilter("always")  # a warning that fires once per process must show every time
        try:
            main()
        except SystemExit as exit_:
            status = exit_.code if isinstance(exit_.code, int) else 1
        finally:
            logging.root.handlers[:], logging.root.level = handlers, level
    out, err = capfd.readouterr()
    return status, out, err


def refusal_in_job(args: list[str], run_dir) -> str:
    """The one line a job composed from `args` is refused with (Hydra's compose API, then the runner).
    Only a UsageError is a one-line refusal for the user: any other exception propagates, and fails
    the test with the traceback the user would have seen."""
    from hydra.errors import HydraException

    from sweeplab.__main__ import user_error
    from sweeplab.errors import UsageError
    from sweeplab.runner import run_job

    overrides = [a for a in args if not a.startswith("hydra.run.dir=")]
    try:
        cfg = compose_config(overrides)
    except HydraException as exc:  # what the entrypoint rewrites for Hydra's own mistakes
        better = exc if isinstance(exc, UsageError) else user_error(exc)
        assert better is not None, f"Hydra's own multi-line message for {args}:\n{exc}"
        return str(better)
    try:
        run_job(cfg, run_dir, overrides)
    except UsageError as exc:
        if (run_dir / "summary.json").exists():  # the runner had claimed the dir: the failure is recorded
            summary = json.loads((run_dir / "summary.json").read_text())
            assert summary["status"] == "failed" and summary["error"].endswith(str(exc)), summary
        return str(exc)
    pytest.fail(f"{args} was accepted")


def check_line(case: Case, places: dict, line: str, run_dir=None, cwd=None) -> None:
    assert "\n" not in line.strip(), f"{case.args} gave more than one line:\n{line}"
    pattern = expected_line(case, places, run_dir, cwd)
    assert re.search(pattern, line), f"{case.args}:\n  got      {line}\n  expected {pattern}"


def check_output(case: Case, places: dict, status: int, out: str, err: str, run_dir=None, cwd=None) -> None:
    assert "Traceback" not in out + err, f"a traceback for {case.args}:\n{err[-3000:]}"
    assert status == 1, f"exit status {status} for {case.args}:\n{err[-2000:]}"
    lines = the_one_line(err)
    assert len(lines) == 1, f"{case.args} gave {len(lines)} lines instead of one:\n" + "\n".join(lines)
    check_line(case, places, lines[0], run_dir, cwd)


def test_the_table_covers_at_least_80_inputs():
    assert len(CASES) >= 80
    assert len({(tuple(c.base), tuple(c.args)) for c in CASES}) == len(CASES), "a case is in the table twice"


def test_a_label_is_the_one_top_level_key_that_nothing_reads_and_is_accepted():
    from sweeplab.config import validate_common
    from sweeplab.contract import task_specs

    validate_common(compose_config(["+tag=repeat-a"]), list(task_specs()))  # sweeplab -m +tag=a,b: repeats of a config


def test_version_with_overrides_is_sweeplabs(tmp_path, capfd, monkeypatch):
    import sweeplab

    status, out, err = run_in_process(["--version", "seq_len=5"], tmp_path, capfd, monkeypatch)
    assert (status, out.strip(), err) == (0, f"sweeplab {sweeplab.__version__}", "")


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_a_bad_input_gives_one_line_and_exit_status_1(case, places, tmp_path, capfd, monkeypatch):
    skip_unless_applicable(case)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    run_dir = cwd / "run"
    args = arguments(case, places, run_dir, cwd)
    if case.via == "main":
        status, out, err = run_in_process(args, cwd, capfd, monkeypatch, environment(case, places))
        check_output(case, places, status, out, err, run_dir, cwd)
    else:
        check_line(case, places, refusal_in_job(args, run_dir), run_dir, cwd)
    assert not places["evil_marker"].exists(), "the checkpoint's code payload ran"
    check_nothing_written(case, run_dir, cwd)


@pytest.fixture(scope="module")
def command_lines(places, tmp_path_factory):
    """The subset marked `cli` run as subprocesses, one at a time in a background thread while the
    in-process cases run (the table then takes about as long as its slower half)."""
    import torch

    chosen = [c for c in CASES if c.cli and not (c.needs == "no_gpu" and torch.cuda.is_available())]
    cwd = tmp_path_factory.mktemp("cli")
    pool = ThreadPoolExecutor(max_workers=1)
    futures = [
        (
            case,
            cwd / f"run{n}",
            pool.submit(
                run_cli,
                arguments(case, places, cwd / f"run{n}", cwd),
                cwd,
                env_extra=environment(case, places),
                timeout=120,
            ),
        )
        for n, case in enumerate(chosen)
    ]
    yield futures
    pool.shutdown(cancel_futures=True)


@pytest.fixture(autouse=True)
def _start_the_command_lines(request):
    if request.node.name.startswith("test_a_bad_input"):
        request.getfixturevalue("command_lines")


def test_representative_bad_inputs_through_the_real_command_line(command_lines, places):
    """The subset marked `cli`, as a user runs them: `python -m sweeplab ...`."""
    assert len(command_lines) >= 14
    problems = []
    for case, run_dir, future in command_lines:
        result = future.result()
        try:
            check_output(case, places, result.returncode, result.stdout, result.stderr, run_dir, run_dir.parent)
            assert not run_dir.exists(), f"{case.args} left its run dir {run_dir}"
        except AssertionError as exc:
            problems.append(str(exc))
    assert not problems, "\n\n".join(problems)
    assert not places["evil_marker"].exists(), "the checkpoint's code payload ran"
    cwd = command_lines[0][1].parent
    litter = [p.name for p in cwd.iterdir() if not p.name.startswith("run")]
    assert not litter, f"the refused commands wrote {litter} into the current dir"


def test_a_missing_optional_plugin_names_its_extra():
    """Without the [tune] extra Hydra has no hydra/sweeper/optuna; the line says which extra brings it."""
    from hydra.errors import MissingConfigException

    from sweeplab.__main__ import user_error

    missing = MissingConfigException("...", missing_cfg_file="hydra/sweeper/optuna", options=["basic", "sweeplab"])
    line = str(user_error(missing))
    assert line == (
        "Could not find 'hydra/sweeper/optuna': the options of hydra/sweeper are basic, sweeplab; "
        'it comes with an optional extra: pip install -e ".[tune]"'
    )
    assert "\n" not in line
