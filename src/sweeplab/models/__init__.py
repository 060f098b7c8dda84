"""Models: recurrent classifiers for the palindrome task, the DCGAN for MNIST."""

import inspect

from torch import nn

from sweeplab.errors import ConfigError
from sweeplab.models.lstm import LSTM, CudnnLSTM
from sweeplab.models.lstm_triton import TritonLSTM, unavailable_on
from sweeplab.models.rnn import VanillaRNN

RECURRENT_MODELS = {"rnn": VanillaRNN, "lstm": LSTM, "lstm_cudnn": CudnnLSTM, "lstm_triton": TritonLSTM}


def build_recurrent_model(model_cfg, input_size: int, num_classes: int) -> nn.Module:
    """Build the model named by `model.name`; every other key of its config group is an argument."""
    model_cls = RECURRENT_MODELS[model_cfg.name]
    kwargs = {key: value for key, value in model_cfg.items() if key != "name"}
    settings = [p for p in inspect.signature(model_cls).parameters if p not in ("input_size", "num_classes")]
    for key in kwargs:
        if key not in settings:
            raise ConfigError(f"model={model_cfg.name} has no setting {key!r}; its settings are {', '.join(settings)}")
    return model_cls(input_size, num_classes=num_classes, **kwargs)


def check_device(model_name: str, device) -> None:
    """Refuse, in one line and before any work, a model that cannot run on `device`."""
    if model_name == "lstm_triton" and (reason := unavailable_on(device)):
        raise ConfigError(reason)
