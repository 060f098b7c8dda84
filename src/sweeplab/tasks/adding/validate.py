"""The adding problem's settings: ranges, one line each (sweeplab.config's helpers)."""

from omegaconf import DictConfig

from sweeplab.config import positive_int, require, seed, validate_recurrent_task


def validate(cfg: DictConfig) -> None:
    # two marked steps, one in each half: T >= 2
    validate_recurrent_task(cfg, "seq_len", "the sequence length T", minimum=2)
    require(cfg, *positive_int("data.eval_size"))
    require(cfg, *seed("data.eval_seed"))
