"""The adding problem's memory terms, for sweeplab.resources (which adds them up and checks them)."""

from sweeplab.resources import FLOAT, Part, recurrent_parts
from sweeplab.tasks.adding.data import INPUTS


def parts(cfg, on_gpu: bool = False) -> list[Part]:
    T, N = cfg.seq_len, cfg.data.eval_size
    # values and markers as floats; the two marker positions as int64 while a batch is drawn
    stored, temporary = T * INPUTS * FLOAT, T * 2 * FLOAT + 16
    held_out = f"data.eval_size={N} x seq_len={T}"
    return [
        Part("the held-out set", held_out, N * stored),
        Part("building the held-out set", held_out, N * (temporary + on_gpu * stored), phase="build", on_gpu=False),
        *recurrent_parts(cfg, INPUTS, 1, stored, temporary, steps=T, axis=f"seq_len={T}"),
    ]
