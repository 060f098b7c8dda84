"""Training steps captured once as CUDA graphs and replayed at every step.

These small models launch hundreds of tiny kernels per step (the recurrent models one set per time
step, forward and backward; the DCGAN three network passes and two optimizer updates), so on a GPU
the step is bound by the CPU's launch overhead, not by arithmetic. A CUDA graph launches the whole
step (forward, loss, backward, clipping, optimizer update) at once. The arithmetic is the same as
the eager step's (each task's `compute`); only the launching differs.

Follows the whole-network capture recipe of the PyTorch CUDA-graph docs: static input buffers, a
few warm-up steps on a side stream (they allocate the gradients and optimizer state), then capture.
The warm-up steps are undone, so a graphed run is the same run as an eager one. Random numbers
(batches, GAN noise) are drawn outside the graph by the same calls as the eager step, so both draw
the same stream.
"""

import torch

from sweeplab.errors import ConfigError


def use_cuda_graph(setting, device: torch.device) -> bool:
    """`trainer.cuda_graph`: true, false, or auto (on CUDA devices only)."""
    if setting == "auto":
        return device.type == "cuda"
    if setting and device.type != "cuda":
        raise ConfigError(f"trainer.cuda_graph=true needs a CUDA device, not {device}; use auto or false")
    return bool(setting)


def set_capturable(optimizer: torch.optim.Optimizer, capturable: bool, device: torch.device) -> None:
    """Switch the optimizer between the graph-safe (on-device step counter) and the default path.

    load_state_dict restores the flag a checkpoint was saved with; this sets the one this run needs
    (a capturable optimizer also needs its step counters on the device).
    """
    for group in optimizer.param_groups:
        if "capturable" in group:
            group["capturable"] = capturable
    for state in optimizer.state.values():
        if torch.is_tensor(state.get("step")):
            state["step"] = state["step"].to(device if capturable else "cpu")


def capture(step, modules, optimizers, device: torch.device, warmup_steps: int = 3):
    """Capture `step()` (which reads static input buffers) as a CUDA graph; returns (graph, its outputs).

    The warm-up runs change the parameters, buffers (BatchNorm statistics) and optimizer state;
    they are put back in place afterwards, so that the graph captures these very tensors and the
    first replay is the run's first step.
    """
    for opt in optimizers:
        for group in opt.param_groups:
            # SGD's first step sets its momentum buffer to the gradient; a graph replays a later
            # step, buf = momentum * buf + (1 - dampening) * grad, which equals it only without dampening.
            if group.get("momentum") and group.get("dampening"):
                raise ConfigError(
                    "trainer.cuda_graph cannot replay SGD with dampening; set optim.dampening=0 or trainer.cuda_graph=false"
                )
    tensors = [t for m in modules for t in (*m.parameters(), *m.buffers())]  # BatchNorm statistics too
    saved_tensors = [t.detach().clone() for t in tensors]
    saved_state = [
        {id(p): {k: v.clone() for k, v in opt.state[p].items() if torch.is_tensor(v)} for p in opt.state}
        for opt in optimizers
    ]

    with torch.cuda.device(device):  # capture on the training device, also when it is not the current one
        side = torch.cuda.Stream(device)
        side.wait_stream(torch.cuda.current_stream(device))
        with torch.cuda.stream(side):
            for _ in range(warmup_steps):
                for opt in optimizers:
                    opt.zero_grad(set_to_none=True)
                step()
        torch.cuda.current_stream(device).wait_stream(side)

        with torch.no_grad():
            for tensor, saved in zip(tensors, saved_tensors):
                tensor.copy_(saved)
            # State created by the warm-up starts at zero: the initial value of every state tensor
            # of RMSprop, Adam and SGD (momentum, no dampening), and of the step counter.
            for opt, saved in zip(optimizers, saved_state):
                for p, state in opt.state.items():
                    for key, value in state.items():
                        if torch.is_tensor(value):
                            value.copy_(saved[id(p)][key]) if id(p) in saved else value.zero_()

        graph = torch.cuda.CUDAGraph()
        for opt in optimizers:
            opt.zero_grad(set_to_none=True)  # backward inside the graph allocates .grad from its pool
        with torch.cuda.graph(graph):
            outputs = step()
    return graph, outputs


class GraphedStep:
    """A training step `compute(*inputs) -> outputs` on fixed-shape inputs, replayed as one CUDA graph.

    Built from the first inputs (their shapes and memory layout). Each call copies its inputs into the
    graph's static buffers and replays; the inputs are drawn by the caller, outside the graph, with
    the same calls as the eager step, so graphed and eager runs draw the same random numbers.
    """

    def __init__(self, compute, inputs, modules, optimizers, warmup_steps: int = 3):
        device = inputs[0].device
        for optimizer in optimizers:
            set_capturable(optimizer, True, device)
        # Static buffers; zeros, so that building the graph draws no random numbers.
        self.inputs = [torch.zeros_like(t) for t in inputs]
        self.graph, self.outputs = capture(lambda: compute(*self.inputs), modules, optimizers, device, warmup_steps)

    def __call__(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        for static, tensor in zip(self.inputs, inputs):
            static.copy_(tensor)
        self.graph.replay()
        return self.outputs
