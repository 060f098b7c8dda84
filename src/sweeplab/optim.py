"""Optimizers by name (`optim=rmsprop|adam|sgd`); every other key of the group is passed through."""

import torch
from omegaconf import DictConfig, OmegaConf

OPTIMIZERS = {"rmsprop": torch.optim.RMSprop, "adam": torch.optim.Adam, "sgd": torch.optim.SGD}


def build_optimizer(optim_cfg: DictConfig, params) -> torch.optim.Optimizer:
    kwargs = OmegaConf.to_container(optim_cfg, resolve=True)
    name = kwargs.pop("name")
    return OPTIMIZERS[name](params, **kwargs)
