"""The palindrome task's settings: ranges and cross-field rules, one line each (sweeplab.config's helpers)."""

from omegaconf import DictConfig

from sweeplab.config import one_of, require, seed, validate_held_out_size, validate_recurrent_task
from sweeplab.tasks.palindrome.data import ENCODINGS


def validate(cfg: DictConfig) -> None:
    validate_recurrent_task(cfg, "seq_len", "the palindrome length T", minimum=2)
    require(cfg, *one_of("data.encoding", ENCODINGS))
    validate_held_out_size(cfg)
    require(cfg, *seed("data.eval_seed"))
