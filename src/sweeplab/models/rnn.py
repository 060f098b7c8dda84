"""The vanilla RNN, written from its equations.

h_t = tanh(W_hx x_t + W_hh h_{t-1} + b_h)
p   = W_ph h_T + b_p                      (logits: CrossEntropyLoss applies the softmax)
"""

import torch
import torch.nn.functional as F
from torch import nn

from sweeplab.models.init import check_recurrent, every_step, init_weight


class VanillaRNN(nn.Module):
    check = staticmethod(check_recurrent)  # its settings' rules, before any run dir (sweeplab.preflight)

    def __init__(
        self,
        input_size: int,
        hidden_size: int = 128,
        num_classes: int = 10,
        init: str = "xavier",
        outputs: str = "last",
    ):
        super().__init__()
        self.hidden_size, self.every_step = hidden_size, every_step(outputs)
        self.W_hx = nn.Parameter(torch.empty(hidden_size, input_size))
        self.W_hh = nn.Parameter(torch.empty(hidden_size, hidden_size))
        self.b_h = nn.Parameter(torch.zeros(hidden_size))
        self.W_ph = nn.Parameter(torch.empty(num_classes, hidden_size))
        self.b_p = nn.Parameter(torch.zeros(num_classes))
        init_weight(self.W_hx, init, hidden_size)
        init_weight(self.W_hh, init, hidden_size, recurrent=True)
        init_weight(self.W_ph, init, hidden_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (batch, time, input_size) -> logits (batch, num_classes), or (batch, time, num_classes)."""
        # The input projection does not depend on h: compute it for all steps at once,
        # time-major so that each step reads one contiguous (batch, hidden) block.
        x_proj = F.linear(x.transpose(0, 1), self.W_hx, self.b_h)
        h = x.new_zeros(x.shape[0], self.hidden_size)
        hs = []
        for x_t in x_proj.unbind(0):  # unbind: one stack in backward, not T full-size scatters
            h = torch.tanh(torch.addmm(x_t, h, self.W_hh.t()))
            if self.every_step:
                hs.append(h)
        return F.linear(torch.stack(hs, dim=1) if self.every_step else h, self.W_ph, self.b_p)
