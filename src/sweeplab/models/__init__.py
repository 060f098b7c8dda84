"""Models: recurrent classifiers for the palindrome task, the DCGAN for MNIST."""

from torch import nn

from sweeplab.models.lstm import LSTM, CudnnLSTM
from sweeplab.models.rnn import VanillaRNN

RECURRENT_MODELS = {"rnn": VanillaRNN, "lstm": LSTM, "lstm_cudnn": CudnnLSTM}


def build_recurrent_model(model_cfg, input_size: int, num_classes: int) -> nn.Module:
    """Build the model named by `model.name` from its config group's settings."""
    kwargs = {"hidden_size": model_cfg.hidden_size, "init": model_cfg.init}
    if "forget_bias" in model_cfg:
        kwargs["forget_bias"] = model_cfg.forget_bias
    return RECURRENT_MODELS[model_cfg.name](input_size, num_classes=num_classes, **kwargs)
