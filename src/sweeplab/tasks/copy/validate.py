"""The copy task's settings: ranges, one line each (sweeplab.config's helpers)."""

from omegaconf import DictConfig

from sweeplab.config import is_int, positive_int, require, seed, validate_held_out_size, validate_recurrent_task


def validate(cfg: DictConfig) -> None:
    validate_recurrent_task(cfg, "seq_len", "the delay T: blank steps between the symbols and the delimiter")
    require(cfg, "data.alphabet", lambda v: is_int(v) and v >= 2, "an integer >= 2 (the symbols to copy from)")
    require(cfg, *positive_int("data.length"))
    validate_held_out_size(cfg, answers_per_sample=cfg.data.length)  # accuracy over eval_size x length symbols
    require(cfg, *seed("data.eval_seed"))
