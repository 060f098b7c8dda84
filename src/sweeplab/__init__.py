"""sweeplab: Hydra-configured sweeps of recurrent-memory (RNN vs LSTM) and DCGAN experiments."""

__version__ = "0.1.0"
