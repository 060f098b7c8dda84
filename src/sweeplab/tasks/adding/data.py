"""The adding problem's sequences (Hochreiter & Schmidhuber 1997, experiment 4; Le et al. 2015).

Each of T steps carries two inputs: a value drawn uniformly from [0, 1] and a marker. Exactly two
steps are marked, one in each half of the sequence; the target is the sum of their two values, given
after the last step. Predicting the constant 1 scores an MSE of 2/12 = 0.167: to do better the model
must keep the first marked value across up to T - 1 steps. Drawn on the training device, like the
palindromes.
"""

import torch

INPUTS = 2  # (value, marker)


def random_sequences(batch_size: int, seq_len: int, generator: torch.Generator, device: torch.device):
    """(inputs (B, T, 2), targets (B,)) of `batch_size` adding-problem sequences of length `seq_len`."""
    values = torch.rand(batch_size, seq_len, generator=generator, device=device)
    half = seq_len // 2
    first = torch.randint(0, half, (batch_size,), generator=generator, device=device)
    second = torch.randint(half, seq_len, (batch_size,), generator=generator, device=device)
    markers = torch.zeros(batch_size, seq_len, device=device)
    rows = torch.arange(batch_size, device=device)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    targets = values[rows, first] + values[rows, second]
    return torch.stack([values, markers], dim=-1), targets


class AddingData:
    """Fresh training batches from a seeded generator, and a fixed held-out set from its own."""

    def __init__(self, seq_len: int, seed: int, eval_size: int, eval_seed: int, device: torch.device):
        self.seq_len, self.device = seq_len, device
        self.generator = torch.Generator(device=device).manual_seed(seed)
        # Drawn on the CPU so that the held-out set is the same on every device.
        eval_generator = torch.Generator().manual_seed(eval_seed)
        held_out = random_sequences(eval_size, seq_len, eval_generator, torch.device("cpu"))
        self.eval_inputs, self.eval_targets = (t.to(device) for t in held_out)

    def sample(self, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        return random_sequences(batch_size, self.seq_len, self.generator, self.device)
