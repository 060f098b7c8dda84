"""The palindrome run's memory terms, for sweeplab.resources (which adds them up and checks them)."""

from sweeplab.resources import FLOAT, Part, recurrent_parts
from sweeplab.tasks.palindrome.data import NUM_DIGITS


def parts(cfg, on_gpu: bool = False) -> list[Part]:
    T, N = cfg.seq_len, cfg.data.eval_size
    inputs = NUM_DIGITS if cfg.data.encoding == "one_hot" else 1
    # Digits are drawn as int64 and one-hot encoded through int64 before the float copy: 8 bytes per
    # digit and 8 per input besides the stored 4 (measured: 3.2x the stored set while it is built).
    stored, temporary = (T - 1) * inputs * FLOAT, (T - 1) * (8 + inputs * 8)
    held_out = f"data.eval_size={N} x seq_len={T}"
    return [
        Part("the held-out set", held_out, N * stored),
        # built on the host; on a GPU run the host holds the whole set while it is built, then copies it
        Part("building the held-out set", held_out, N * (temporary + on_gpu * stored), phase="build", on_gpu=False),
        *recurrent_parts(cfg, inputs, NUM_DIGITS, stored, temporary, steps=T - 1, axis=f"seq_len={T}"),
    ]
