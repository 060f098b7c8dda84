"""Weight initialisation schemes, shared by the recurrent models (`model.init`).

The scheme changes what a vanilla RNN learns at all (measured in docs/FINDINGS.md). Biases are zero
(except the LSTM's forget gate). Stacked gate matrices are initialised one gate block at a time.
"""

import math

import torch
from torch import nn

INIT_SCHEMES = ("xavier", "orthogonal", "torch")
#: what a recurrent model returns: the last step's logits (batch, classes), or every step's (batch, time,
#: classes) for a task that answers at every step (the copy task). The task asks: build(..., outputs="all").
OUTPUTS = ("last", "all")


def check_recurrent(init: str = "xavier", outputs: str = "last", **_settings) -> None:
    """The recurrent models' own rules on their settings, as one-line ValueErrors: `check` on each model
    class, so that sweeplab.preflight refuses a bad value before any run dir exists."""
    if init not in INIT_SCHEMES:
        raise ValueError(f"model.init={init!r} is not allowed; it must be one of {', '.join(INIT_SCHEMES)}")
    every_step(outputs)


def every_step(outputs: str) -> bool:
    """Whether `outputs` asks for every step's logits (a one-line ValueError for anything but OUTPUTS)."""
    if outputs not in OUTPUTS:
        raise ValueError(f"outputs={outputs!r} is not allowed; it must be one of {', '.join(OUTPUTS)}")
    return outputs == "all"


@torch.no_grad()
def init_weight(weight: torch.Tensor, scheme: str, hidden_size: int, recurrent: bool = False, blocks: int = 1) -> None:
    """Initialise `weight` (out x in), made of `blocks` stacked gate blocks, by `scheme`.

    xavier:     Glorot uniform (Glorot & Bengio 2010)
    orthogonal: recurrent (hidden-to-hidden) blocks orthogonal (Saxe et al. 2014), others xavier
    torch:      uniform(+-1/sqrt(hidden)), torch.nn.RNN / torch.nn.LSTM's default
    """
    if scheme not in INIT_SCHEMES:
        raise ValueError(f"model.init={scheme!r} is not allowed; it must be one of {', '.join(INIT_SCHEMES)}")
    for block in weight.chunk(blocks, dim=0):
        if scheme == "torch":
            bound = 1.0 / math.sqrt(hidden_size)
            nn.init.uniform_(block, -bound, bound)
        elif scheme == "orthogonal" and recurrent:
            nn.init.orthogonal_(block)
        else:
            nn.init.xavier_uniform_(block)
