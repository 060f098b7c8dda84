"""The GRU (Cho et al. 2014), written from its equations in torch.nn.GRU's convention.

    r_t = sigmoid(W_rx x_t + b_rx + W_rh h_{t-1} + b_rh)          reset gate
    z_t = sigmoid(W_zx x_t + b_zx + W_zh h_{t-1} + b_zh)          update gate
    n_t = tanh(W_nx x_t + b_nx + r_t * (W_nh h_{t-1} + b_nh))     candidate
    h_t = (1 - z_t) * n_t + z_t * h_{t-1}
    p   = W_ph h_T + b_p                      (logits: CrossEntropyLoss applies the softmax)

The gates' weights are stacked row-wise in the order r, z, n, as torch.nn.GRU stacks them. The
hidden-side bias stays separate: b_nh sits inside the reset gate's product.
"""

import torch
import torch.nn.functional as F
from torch import nn

from sweeplab.models.init import check_recurrent, every_step, init_weight


class GRU(nn.Module):
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
        H = self.hidden_size = hidden_size
        self.every_step = every_step(outputs)
        self.W_x = nn.Parameter(torch.empty(3 * H, input_size))  # [W_rx; W_zx; W_nx]
        self.W_h = nn.Parameter(torch.empty(3 * H, H))  # [W_rh; W_zh; W_nh]
        self.b_x = nn.Parameter(torch.zeros(3 * H))
        self.b_h = nn.Parameter(torch.zeros(3 * H))
        self.W_ph = nn.Parameter(torch.empty(num_classes, H))
        self.b_p = nn.Parameter(torch.zeros(num_classes))
        init_weight(self.W_x, init, H, blocks=3)
        init_weight(self.W_h, init, H, recurrent=True, blocks=3)
        init_weight(self.W_ph, init, H)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (batch, time, input_size) -> logits (batch, num_classes), or (batch, time, num_classes)."""
        # The input side does not depend on h: project every step at once, time-major.
        x_proj = F.linear(x.transpose(0, 1), self.W_x, self.b_x)
        h = x.new_zeros(x.shape[0], self.hidden_size)
        hs = []
        for x_t in x_proj.unbind(0):
            x_r, x_z, x_n = x_t.chunk(3, dim=1)
            h_r, h_z, h_n = F.linear(h, self.W_h, self.b_h).chunk(3, dim=1)
            r = torch.sigmoid(x_r + h_r)
            z = torch.sigmoid(x_z + h_z)
            n = torch.tanh(x_n + r * h_n)
            h = (1 - z) * n + z * h
            if self.every_step:
                hs.append(h)
        return F.linear(torch.stack(hs, dim=1) if self.every_step else h, self.W_ph, self.b_p)
