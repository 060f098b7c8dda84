"""The LSTM, written from its equations, and torch.nn.LSTM behind the same interface.

    g_t = tanh(W_gx x_t + W_gh h_{t-1} + b_g)
    i_t = sigmoid(W_ix x_t + W_ih h_{t-1} + b_i)
    f_t = sigmoid(W_fx x_t + W_fh h_{t-1} + b_f)
    o_t = sigmoid(W_ox x_t + W_oh h_{t-1} + b_o)
    c_t = g_t * i_t + c_{t-1} * f_t
    h_t = tanh(c_t) * o_t
    p   = W_ph h_T + b_p                      (logits: CrossEntropyLoss applies the softmax)
          (outputs="all": p_t = W_ph h_t + b_p at every step t, for tasks that answer at every step)

The four gates' weights are stacked row-wise in the order g, i, f, o (W_x = [W_gx; W_ix; W_fx; W_ox],
likewise W_h and b), and each step multiplies [x_t, h_{t-1}] by [W_x, W_h]^T: one matrix product
per step instead of eight.
"""

import torch
import torch.nn.functional as F
from torch import nn

from sweeplab.models.init import check_recurrent, every_step, init_weight


class LSTM(nn.Module):
    check = staticmethod(check_recurrent)  # its settings' rules, before any run dir (sweeplab.preflight)

    def __init__(
        self,
        input_size: int,
        hidden_size: int = 128,
        num_classes: int = 10,
        forget_bias: float = 1.0,
        init: str = "xavier",
        outputs: str = "last",
    ):
        super().__init__()
        H = self.hidden_size = hidden_size
        self.every_step = every_step(outputs)
        self.W_x = nn.Parameter(torch.empty(4 * H, input_size))  # [W_gx; W_ix; W_fx; W_ox]
        self.W_h = nn.Parameter(torch.empty(4 * H, H))  # [W_gh; W_ih; W_fh; W_oh]
        self.b = nn.Parameter(torch.zeros(4 * H))  # [b_g; b_i; b_f; b_o]
        self.W_ph = nn.Parameter(torch.empty(num_classes, H))
        self.b_p = nn.Parameter(torch.zeros(num_classes))
        init_weight(self.W_x, init, H, blocks=4)
        init_weight(self.W_h, init, H, recurrent=True, blocks=4)
        init_weight(self.W_ph, init, H)
        # A positive forget-gate bias keeps c flowing through time early in training
        # (Gers et al. 2000; Jozefowicz et al. 2015): it decides the LSTM's reach (docs/FINDINGS.md).
        with torch.no_grad():
            self.b[2 * H : 3 * H].fill_(forget_bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (batch, time, input_size) -> logits (batch, num_classes), or (batch, time, num_classes)."""
        H = self.hidden_size
        W = torch.cat([self.W_x, self.W_h], dim=1).t()  # (input_size + H, 4H)
        h = x.new_zeros(x.shape[0], H)
        c = x.new_zeros(x.shape[0], H)
        hs = []
        # Projecting x_t inside the step, not for all steps up front: on a CPU the (T, batch, 4H)
        # projection and its gradient cost more memory traffic than they save (docs/PERFORMANCE.md).
        for x_t in x.unbind(1):
            gates = torch.addmm(self.b, torch.cat([x_t, h], dim=1), W)
            g, ifo = gates.split([H, 3 * H], dim=1)
            g = torch.tanh(g)
            i, f, o = torch.sigmoid(ifo).chunk(3, dim=1)
            c = g * i + c * f
            h = torch.tanh(c) * o
            if self.every_step:
                hs.append(h)
        return F.linear(torch.stack(hs, dim=1) if self.every_step else h, self.W_ph, self.b_p)


class CudnnLSTM(nn.Module):
    """torch.nn.LSTM (cuDNN on a GPU) plus the same output layer: the reference and a fast option."""

    check = staticmethod(check_recurrent)  # its settings' rules, before any run dir (sweeplab.preflight)

    def __init__(
        self,
        input_size: int,
        hidden_size: int = 128,
        num_classes: int = 10,
        forget_bias: float = 1.0,
        init: str = "xavier",
        outputs: str = "last",
    ):
        super().__init__()
        self.every_step = every_step(outputs)
        self.lstm = nn.LSTM(input_size, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, num_classes)
        H = hidden_size
        init_weight(self.lstm.weight_ih_l0, init, H, blocks=4)
        init_weight(self.lstm.weight_hh_l0, init, H, recurrent=True, blocks=4)
        init_weight(self.head.weight, init, H)
        with torch.no_grad():  # nn.LSTM orders its gates i, f, g, o and has two bias vectors
            self.lstm.bias_ih_l0.zero_()
            self.lstm.bias_hh_l0.zero_()
            self.lstm.bias_ih_l0[H : 2 * H].fill_(forget_bias)
            self.head.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        output, _ = self.lstm(x)  # h0 and c0 default to zeros of the right batch and device
        return self.head(output if self.every_step else output[:, -1])
