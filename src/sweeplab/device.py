"""Choosing the torch device from `trainer.device`."""

import torch

from sweeplab.errors import ConfigError


def resolve_device(name: str) -> torch.device:
    """`auto` picks CUDA when a GPU is present, else the CPU; `cuda` without a GPU is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda" or name.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise ConfigError(
                f"trainer.device={name} but no CUDA GPU is available here; use trainer.device=auto or cpu"
            )
        device = torch.device(name)
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ConfigError(f"trainer.device={name} but only {torch.cuda.device_count()} GPU(s) are visible")
        return device
    raise ConfigError(f"trainer.device={name} is not a device; use auto, cpu, cuda or cuda:N")


def prepare(cfg) -> torch.device:
    """A training run's device from `trainer.device`, made the current one (for `cuda:N`: streams and
    CUDA graphs land on it), with `trainer.num_threads` CPU threads (None keeps torch's default: every
    core; in a joblib worker cores / n_jobs, because joblib sets OMP_NUM_THREADS). A run that cannot
    fit in the device's free memory is refused here, before it allocates (sweeplab.resources)."""
    from sweeplab.resources import check_memory

    trainer = cfg.trainer
    device = resolve_device(trainer.device)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if trainer.num_threads:
        torch.set_num_threads(trainer.num_threads)
    check_memory(cfg, device)
    return device


def describe(device: torch.device) -> str:
    """For the run's opening log line: `cpu (2 threads)` or `cuda (NVIDIA H200)`."""
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    threads = torch.get_num_threads()
    return f"{device} ({threads} thread{'s' if threads > 1 else ''})"
