"""The course-style reference, kept here only to measure against.

An LSTM with eight separate nn.Linear calls per time step, and a numpy palindrome Dataset read
through a CPU DataLoader, as in the course's template code.
"""

import math

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset


class CoursePalindromeDataset(Dataset):
    """One numpy palindrome per __getitem__, digits one-hot encoded afterwards by the loop."""

    def __init__(self, seq_len: int, size: int = 10**9):
        self.seq_len, self.size = seq_len, size

    def __len__(self):
        return self.size

    def __getitem__(self, idx):
        left = np.asarray([np.random.randint(0, 10) for _ in range(math.ceil(self.seq_len / 2))])
        right = np.flip(left, 0) if self.seq_len % 2 == 0 else np.flip(left[:-1], 0)
        full = np.concatenate((left, right))
        return torch.from_numpy(full[:-1].copy()), int(full[-1])


class CourseLSTM(nn.Module):
    def __init__(self, input_size: int, hidden_size: int, num_classes: int):
        super().__init__()
        self.hidden_size = hidden_size
        self.W_gx, self.W_gh = nn.Linear(input_size, hidden_size), nn.Linear(hidden_size, hidden_size, bias=False)
        self.W_ix, self.W_ih = nn.Linear(input_size, hidden_size), nn.Linear(hidden_size, hidden_size, bias=False)
        self.W_fx, self.W_fh = nn.Linear(input_size, hidden_size), nn.Linear(hidden_size, hidden_size, bias=False)
        self.W_ox, self.W_oh = nn.Linear(input_size, hidden_size), nn.Linear(hidden_size, hidden_size, bias=False)
        self.W_ph = nn.Linear(hidden_size, num_classes)

    def forward(self, x):
        h = torch.zeros(x.shape[0], self.hidden_size, device=x.device)
        c = torch.zeros_like(h)
        for t in range(x.shape[1]):
            x_t = x[:, t]
            g = torch.tanh(self.W_gx(x_t) + self.W_gh(h))
            i = torch.sigmoid(self.W_ix(x_t) + self.W_ih(h))
            f = torch.sigmoid(self.W_fx(x_t) + self.W_fh(h))
            o = torch.sigmoid(self.W_ox(x_t) + self.W_oh(h))
            c = g * i + c * f
            h = torch.tanh(c) * o
        return self.W_ph(h)


def course_batches(seq_len: int, batch_size: int, device: torch.device):
    """Endless (inputs, targets) batches from the DataLoader, one-hot encoded and moved to `device`."""
    loader = DataLoader(CoursePalindromeDataset(seq_len), batch_size=batch_size)
    for digits, targets in loader:
        yield nn.functional.one_hot(digits.long(), 10).float().to(device), targets.to(device)
