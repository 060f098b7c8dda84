"""The palindrome task's settings: ranges and cross-field rules, one line each (sweeplab.config's helpers)."""

from omegaconf import DictConfig

from sweeplab.config import one_of, positive_int, require, seed, validate_recurrent_task
from sweeplab.tasks.palindrome.data import ENCODINGS


def validate(cfg: DictConfig) -> None:
    validate_recurrent_task(cfg, "seq_len", "the palindrome length T", minimum=2)
    require(cfg, *one_of("data.encoding", ENCODINGS))
    require(cfg, *positive_int("data.eval_size"))
    require(cfg, *seed("data.eval_seed"))
