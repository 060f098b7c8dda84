"""Memory sanity: a run that cannot fit is refused in one line before it allocates anything.

`check_memory(cfg, device)` (called by the training tasks right after choosing the device) estimates
the memory a run needs from its settings and compares it with what the device has free: the host's
MemAvailable (and its cgroup's limit) for the CPU, `torch.cuda.mem_get_info` for a GPU. Without it,
`seq_len=100000`, `trainer.batch_size=10**9` or `model.hidden_size=10**6` grow for minutes until the
kernel kills the run (or a neighbouring job), or end in an allocator traceback.

The estimate adds up the big terms that the task's memory.py names (the held-out set, the backprop
activations, the evaluation, the parameters and optimizer state; for the GAN its digits and generated
images), each from factors measured on this code, and takes the largest of the phases that never overlap (building the
held-out set, a training step, an evaluation). On the CPU it is within 10% of a run's measured peak
(tests/test_reliability.py). An allocation that fails anyway during a run (another process took the
memory, a `ulimit -v`) is turned into a one-line `failed` by the runner (`as_out_of_memory`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sweeplab.errors import UsageError

FLOAT = 4  # bytes of a float32
#: floats autograd keeps per sample, time step and hidden unit for the backward pass, measured
#: (peak RSS of one forward+backward on the CPU, batch 64, T 2000, H 128) and rounded up
ACTIVATION_FLOATS = {"rnn": 5, "gru": 18, "lstm": 11, "lstm_cudnn": 17, "lstm_triton": 11}
#: floats the held-out evaluation (no gradients) keeps per sample, time step and hidden unit: the
#: input projection of every step at once (rnn, gru, torch.nn.LSTM), measured likewise
EVAL_FLOATS = {"rnn": 1.25, "gru": 3.6, "lstm": 0.1, "lstm_cudnn": 2, "lstm_triton": 2}
GATES = {"rnn": 1, "gru": 3}  # weight blocks of a recurrent cell (LSTMs: 4)
#: a parameter, its gradient and up to two optimizer states (Adam)
PARAMETER_COPIES = 4


class NotEnoughMemory(UsageError):
    """A run that does not fit in the memory its device has free (one line; also a run's `failed` error)."""


@dataclass
class Part:
    what: str  # "the held-out set"
    settings: str  # the settings that size it: "data.eval_size=2000 x seq_len=20"
    nbytes: float
    phase: str | None = None  # None: held for the whole run; parts of two phases are never held together
    on_gpu: bool = True  # on the GPU when the run trains on one (False: host memory all the same)


def check_memory(cfg, device) -> None:
    """Raise NotEnoughMemory when the run of `cfg` would not fit in what `device` has free."""
    on_gpu = getattr(device, "type", str(device)) == "cuda"
    parts = estimate(cfg, on_gpu)
    places = [(device, [p for p in parts if p.on_gpu]), ("cpu", [p for p in parts if not p.on_gpu])]
    for place, needed in places if on_gpu else [("cpu", parts)]:
        free, where = free_memory(place)
        total, counted = peak(needed)
        if free is not None and total > free:
            raise NotEnoughMemory(refusal(counted, total, free, where))


def estimate(cfg, on_gpu: bool = False) -> list[Part]:
    """The big memory terms of a run of `cfg` on the CPU or a GPU: its task's `memory` (spec) names them."""
    import importlib

    from sweeplab.contract import task_spec

    spec = task_spec(cfg.get("task"))
    if spec is None or spec.memory is None:
        return []
    module, _, function = spec.memory.partition(":")
    return getattr(importlib.import_module(module), function)(cfg, on_gpu)


def peak(parts: list[Part]) -> tuple[float, list[Part]]:
    """The most memory held at once (the whole-run parts plus the largest phase), and those parts."""
    phases: dict[str, list[Part]] = {}
    for part in parts:
        if part.phase is not None:
            phases.setdefault(part.phase, []).append(part)
    largest = max(phases.values(), key=lambda ps: sum(p.nbytes for p in ps), default=[])
    counted = [p for p in parts if p.phase is None] + largest
    return sum(p.nbytes for p in counted), counted


def recurrent_parts(
    cfg, inputs: int, outputs: int, stored: float, temporary: float, steps: int, axis: str
) -> list[Part]:
    """The parts every recurrent-model task has: a training step's backprop activations over `steps`
    time steps (plus a batch of `stored` bytes per sample, built through `temporary` bytes), the
    held-out evaluation (the same length), the parameters and optimizer state (`inputs` -> `outputs`).
    `axis` names the setting behind `steps` in the refusal ("seq_len=20")."""
    model = str(cfg.model.get("name", "lstm"))
    T, H, B, N = steps, cfg.model.hidden_size, cfg.trainer.batch_size, cfg.data.eval_size
    n_params = GATES.get(model, 4) * H * (inputs + H + 1) + outputs * (H + 1)
    floats = ACTIVATION_FLOATS.get(model, max(ACTIVATION_FLOATS.values()))
    eval_floats = EVAL_FLOATS.get(model, max(EVAL_FLOATS.values()))
    return [
        Part(
            "the backprop activations",
            f"trainer.batch_size={B} x {axis} x model.hidden_size={H}",
            B * (T * H * floats * FLOAT + stored + temporary),
            phase="train",
        ),
        Part(
            "the evaluation",
            f"data.eval_size={N} x {axis} x model.hidden_size={H}",
            N * T * H * eval_floats * FLOAT,
            "evaluate",
        ),
        Part("the parameters and optimizer state", f"model.hidden_size={H}", n_params * PARAMETER_COPIES * FLOAT),
    ]


def refusal(counted: list[Part], total: float, free: int, where: str) -> str:
    biggest = [p for p in sorted(counted, key=lambda p: -p.nbytes) if p.nbytes >= total / 10][:2]
    detail = ", then ".join(f"{p.what} ({p.settings}: {size(p.nbytes)})" for p in biggest)
    return (
        f"this run needs about {size(total)} of memory, most of it for {detail}; {where} has {size(free)} free: "
        "lower those settings, or run where more memory is free"
    )


def size(nbytes: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if nbytes < 1000 or unit == "PB":
            break
        nbytes /= 1000
    return f"{nbytes:.3g} {unit}" if nbytes < 1000 else f"{nbytes:.2e} {unit}"


def free_memory(device) -> tuple[int | None, str]:
    """(bytes free, a name for the place) on `device`; None when it cannot be told (no /proc)."""
    if getattr(device, "type", str(device)) == "cuda":
        import torch

        free, _total = torch.cuda.mem_get_info(device)
        return free, str(device)
    return host_free(), "this machine"


def host_free() -> int | None:
    """MemAvailable, lowered to what this process's cgroup still allows (a container, a SLURM job)."""
    available = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                available = int(line.split()[1]) * 1024
    except OSError:
        return None
    known = [x for x in (available, cgroup_headroom()) if x is not None]
    return min(known) if known else None


def cgroup_headroom(root: Path = Path("/sys/fs/cgroup")) -> int | None:
    """Bytes the cgroup (v2, then v1) still allows, or None without a limit."""
    for limit_file, usage_file in (
        ("memory.max", "memory.current"),
        ("memory/memory.limit_in_bytes", "memory/memory.usage_in_bytes"),
    ):
        try:
            limit = (root / limit_file).read_text().strip()
            usage = int((root / usage_file).read_text().strip())
        except (OSError, ValueError):
            continue
        if limit.isdigit() and int(limit) < 2**60:  # v1 writes a huge number for "no limit"
            return max(int(limit) - usage, 0)
    return None


# --- An allocation that fails during a run ----------------------------------------------------------

_ALLOCATOR_MESSAGES = ("can't allocate memory", "cannot allocate memory", "out of memory")


def as_out_of_memory(exc: BaseException) -> NotEnoughMemory | None:
    """The one-line `failed` error for an allocation failure (MemoryError, torch.OutOfMemoryError, the
    CPU allocator's RuntimeError), or None for any other exception."""
    text = str(exc).strip()
    is_oom = isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError"
    if not is_oom and isinstance(exc, RuntimeError):
        is_oom = any(m in text.lower() for m in _ALLOCATOR_MESSAGES)
    if not is_oom:
        return None
    cause = (text.splitlines() or [type(exc).__name__])[0]
    cause = cause.split("err == 0. ", 1)[-1]  # the CPU allocator's "[enforce fail at alloc_cpu.cpp:N] err == 0. "
    if len(cause) > 200:
        cause = cause[:200] + "..."
    return NotEnoughMemory(
        f"out of memory during the run ({cause or type(exc).__name__}); lower the batch, length or model "
        "settings, or run where more memory is free (the traceback is in error.txt)"
    )
