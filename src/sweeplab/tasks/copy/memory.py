"""The copy task's memory terms, for sweeplab.resources (which adds them up and checks them)."""

from sweeplab.resources import FLOAT, Part, recurrent_parts
from sweeplab.tasks.copy.data import categories, steps


def parts(cfg, on_gpu: bool = False) -> list[Part]:
    L, N, H = steps(cfg.data.length, cfg.seq_len), cfg.data.eval_size, cfg.model.hidden_size
    inputs, K = categories(cfg.data.alphabet), cfg.data.alphabet
    # tokens as int64 and their one-hot through int64 before the float copy (as the palindrome's digits)
    stored, temporary = L * inputs * FLOAT, L * (8 + inputs * 8)
    every_step = L * (H + K) * FLOAT  # each step's hidden state and logits (outputs="all")
    held_out = f"data.eval_size={N} x (2 x data.length + seq_len)={L}"
    return [
        Part("the held-out set", held_out, N * stored),
        Part("building the held-out set", held_out, N * (temporary + on_gpu * stored), phase="build", on_gpu=False),
        *recurrent_parts(cfg, inputs, K, stored, temporary + 2 * every_step, steps=L, axis=f"{L} steps"),
        Part(
            "every step's outputs in the evaluation",
            f"{held_out} x model.hidden_size={H}",
            N * every_step,
            phase="evaluate",
        ),  # fmt: skip
    ]
