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
            raise ConfigError(
                f"trainer.device={name} but only {torch.cuda.device_count()} GPU(s) are visible"
            )
        return device
    raise ConfigError(f"trainer.device={name} is not a device; use auto, cpu, cuda or cuda:N")


def activate(device: torch.device) -> None:
    """Make `device` the current CUDA device (for `cuda:N`), so that streams and graphs land on it."""
    if device.type == "cuda":
        torch.cuda.set_device(device)


def set_cpu_threads(num_threads: int | None) -> None:
    """`trainer.num_threads`: torch's intra-op CPU threads for this run; None keeps torch's default
    (every core; in a joblib worker, cores / n_jobs, because joblib sets OMP_NUM_THREADS)."""
    if num_threads:
        torch.set_num_threads(num_threads)


def describe(device: torch.device) -> str:
    """For the run's opening log line: `cpu (2 threads)` or `cuda (NVIDIA H200)`."""
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    threads = torch.get_num_threads()
    return f"{device} ({threads} thread{'s' if threads > 1 else ''})"
