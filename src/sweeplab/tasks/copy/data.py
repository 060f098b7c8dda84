"""The copy task's sequences (Hochreiter & Schmidhuber 1997; Arjovsky et al. 2016).

A sequence of `length` (S) symbols drawn from an alphabet of K, then a delay of T blanks, then a
delimiter, then S - 1 more blanks: 2S + T steps in all. Over its last S steps (from the delimiter
on) the model must output the S symbols in order, so the first one is remembered across S + T
steps. Inputs are one-hot over K + 2 categories (the symbols, blank, delimiter); the targets are the
S symbols. Drawn on the training device, like the palindromes.
"""

import torch
import torch.nn.functional as F


def categories(alphabet: int) -> int:
    """The input size: the K symbols, the blank (K) and the delimiter (K + 1)."""
    return alphabet + 2


def steps(length: int, delay: int) -> int:
    return 2 * length + delay


def random_sequences(batch_size: int, length: int, delay: int, alphabet: int, generator, device):
    """(inputs (B, 2S + T, K + 2) one-hot, targets (B, S) symbols) of `batch_size` copy-task sequences."""
    symbols = torch.randint(0, alphabet, (batch_size, length), generator=generator, device=device)
    blank, delimiter = alphabet, alphabet + 1
    tokens = torch.full((batch_size, steps(length, delay)), blank, dtype=torch.long, device=device)
    tokens[:, :length] = symbols
    tokens[:, length + delay] = delimiter
    return F.one_hot(tokens, categories(alphabet)).float(), symbols


class CopyData:
    """Fresh training batches from a seeded generator, and a fixed held-out set from its own."""

    def __init__(self, delay: int, alphabet: int, length: int, seed: int, eval_size: int, eval_seed: int, device):
        self.delay, self.alphabet, self.length, self.device = delay, alphabet, length, device
        self.generator = torch.Generator(device=device).manual_seed(seed)
        # Drawn on the CPU so that the held-out set is the same on every device.
        held_out = random_sequences(eval_size, length, delay, alphabet, torch.Generator().manual_seed(eval_seed), "cpu")
        self.eval_inputs, self.eval_targets = (t.to(device) for t in held_out)

    def sample(self, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        return random_sequences(batch_size, self.length, self.delay, self.alphabet, self.generator, self.device)
