"""The palindrome memory task.

A palindrome of length T reads the same both ways. The model sees its first T-1 digits and predicts
the last one, which equals the first: to answer it must remember one digit across T-2 steps.
Palindromes are drawn as tensors directly on the training device, so any T >= 2 works (no
`10 ** ceil(T / 2)` integer range that overflows past T = 36).
"""

import torch
import torch.nn.functional as F

NUM_DIGITS = 10
ENCODINGS = ("one_hot", "scalar")


def random_palindromes(batch_size: int, seq_len: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    """`batch_size` random palindromes of length `seq_len`, as a (B, T) tensor of digits 0-9."""
    first_half = torch.randint(0, NUM_DIGITS, (batch_size, (seq_len + 1) // 2), generator=generator, device=device)
    # Mirror the first floor(T/2) digits; for odd T the middle digit stands alone.
    mirrored = first_half[:, : seq_len // 2].flip(1)
    return torch.cat([first_half, mirrored], dim=1)


def encode(digits: torch.Tensor, encoding: str) -> torch.Tensor:
    """(B, L) digits -> (B, L, input_size) float inputs."""
    if encoding == "one_hot":
        return F.one_hot(digits, NUM_DIGITS).float()
    if encoding == "scalar":
        return digits.float().unsqueeze(-1)
    raise ValueError(f"unknown encoding {encoding!r}; use one of {ENCODINGS}")


def input_size(encoding: str) -> int:
    return NUM_DIGITS if encoding == "one_hot" else 1


def split(palindromes: torch.Tensor, encoding: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs are the first T-1 digits (encoded), the target is the last digit."""
    return encode(palindromes[:, :-1], encoding), palindromes[:, -1]


class PalindromeData:
    """Fresh training batches from a seeded generator, and a fixed held-out set from its own."""

    def __init__(
        self,
        seq_len: int,
        encoding: str,
        seed: int,
        eval_size: int,
        eval_seed: int,
        device: torch.device,
    ):
        self.seq_len = seq_len
        self.encoding = encoding
        self.device = device
        self.input_size = input_size(encoding)
        self.generator = torch.Generator(device=device).manual_seed(seed)
        # Drawn on the CPU so that the held-out set is the same on every device.
        eval_generator = torch.Generator().manual_seed(eval_seed)
        held_out = random_palindromes(eval_size, seq_len, eval_generator, torch.device("cpu"))
        self.eval_inputs, self.eval_targets = (t.to(device) for t in split(held_out, encoding))

    def sample(self, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        batch = random_palindromes(batch_size, self.seq_len, self.generator, self.device)
        return split(batch, self.encoding)
