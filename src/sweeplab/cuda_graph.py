"""Training steps captured once as CUDA graphs and replayed at every step.

These small models launch hundreds of tiny kernels per step (the recurrent models one set per time
step, forward and backward; the DCGAN three network passes and two optimizer updates), so on a GPU
the step is bound by the CPU's launch overhead, not by arithmetic. A CUDA graph launches the whole
step (forward, loss, backward, clipping, optimizer update) at once. The arithmetic is the same as
the eager step's (`tasks.palindrome.train_step`, `tasks.gan.train_step`); only the launching differs.

Follows the whole-network capture recipe of the PyTorch CUDA-graph docs: static input buffers, a
few warm-up steps on a side stream (they allocate the gradients and optimizer state), then capture.
The warm-up steps are undone, so a graphed run is the same run as an eager one. Random numbers
(batches, GAN noise) are drawn outside the graph by the same calls as the eager step, so both draw
the same stream.
"""

import torch
import torch.nn.functional as F

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


class GraphedTrainStep:
    """The palindrome step. Call it to train on a fresh batch; returns (loss, correct) device tensors."""

    def __init__(self, model, optimizer, data, batch_size: int, max_norm: float, warmup_steps: int = 3):
        device = data.device
        self.data, self.batch_size = data, batch_size
        set_capturable(optimizer, True, device)
        # Static buffers: each step copies its batch in. Zeros, so that no random numbers are drawn.
        self.inputs = torch.zeros(batch_size, data.seq_len - 1, data.input_size, device=device)
        self.targets = torch.zeros(batch_size, dtype=torch.long, device=device)
        params = list(model.parameters())

        def step():
            logits = model(self.inputs)
            loss = F.cross_entropy(logits, self.targets)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, max_norm)
            optimizer.step()
            return loss.detach(), (logits.detach().argmax(dim=1) == self.targets).sum()

        self.graph, (self.loss, self.correct) = capture(step, [model], [optimizer], device, warmup_steps)

    def __call__(self) -> tuple[torch.Tensor, torch.Tensor]:
        inputs, targets = self.data.sample(self.batch_size)
        self.inputs.copy_(inputs)
        self.targets.copy_(targets)
        self.graph.replay()
        return self.loss, self.correct


class GraphedGANStep:
    """The DCGAN step (`tasks.gan.train_step`). Call it with a batch of real images; returns its stats."""

    def __init__(self, train_step, nets, real_like: torch.Tensor, latent_size: int, warmup_steps: int = 3):
        generator_net, discriminator, opt_g, opt_d = nets
        device = real_like.device
        for opt in (opt_g, opt_d):
            set_capturable(opt, True, device)
        self.latent_size = latent_size
        # Static buffers of a real batch's shape and memory layout; zeros, so no random draws.
        self.real = torch.zeros_like(real_like)
        self.noise = torch.zeros(real_like.size(0), latent_size, device=device)
        self.graph, self.stats = capture(
            lambda: train_step(generator_net, discriminator, opt_g, opt_d, self.real, self.noise),
            [generator_net, discriminator],
            [opt_g, opt_d],
            device,
            warmup_steps,
        )

    def __call__(self, real: torch.Tensor) -> tuple[torch.Tensor, ...]:
        # The same draw as the eager step's, outside the graph: both runs see the same noise.
        noise = torch.randn(real.size(0), self.latent_size, device=real.device)
        self.real.copy_(real)
        self.noise.copy_(noise)
        self.graph.replay()
        return self.stats
