"""Models: recurrent classifiers for the palindrome task, the DCGAN for MNIST.

Each is built from its config group's `_target_` (conf/model/*.yaml, sweeplab.build): adding a
model is its file, its YAML and its test (docs/EXTENDING.md).
"""

from sweeplab.models.gru import GRU
from sweeplab.models.lstm import LSTM, CudnnLSTM
from sweeplab.models.rnn import VanillaRNN

__all__ = ["GRU", "LSTM", "CudnnLSTM", "VanillaRNN"]
