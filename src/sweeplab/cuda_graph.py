"""The palindrome training step captured once as a CUDA graph and replayed at every step.

These recurrent models launch hundreds of tiny kernels per step (one set per time step, forward and
backward), so on a GPU the step is bound by the CPU's launch overhead, not by arithmetic. A CUDA
graph launches the whole step (forward, loss, backward, clipping, optimizer update) at once. The
arithmetic is the same as the eager step (`tasks.palindrome.train_step`); only the launching differs.

Follows the whole-network capture recipe of the PyTorch CUDA-graph docs: static input buffers, a
few warm-up steps on a side stream (they allocate the gradients and optimizer state), then capture.
The warm-up steps are undone, so a graphed run is the same run as an eager one.
"""

import torch
import torch.nn.functional as F


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


class GraphedTrainStep:
    """Call it to do one training step on a fresh batch; returns (loss, correct) device tensors."""

    def __init__(self, model, optimizer, data, batch_size: int, max_norm: float, warmup_steps: int = 3):
        device = data.device
        self.data, self.batch_size = data, batch_size
        set_capturable(optimizer, True, device)
        # Static buffers: each step copies its batch in. Zeros, so that no random numbers are drawn.
        self.inputs = torch.zeros(batch_size, data.seq_len - 1, data.input_size, device=device)
        self.targets = torch.zeros(batch_size, dtype=torch.long, device=device)

        params = [p for p in model.parameters()]
        saved_params = [p.detach().clone() for p in params]
        saved_state = {
            id(p): {k: v.clone() for k, v in optimizer.state[p].items() if torch.is_tensor(v)}
            for p in params
            if p in optimizer.state
        }

        def step():
            logits = model(self.inputs)
            loss = F.cross_entropy(logits, self.targets)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, max_norm)
            optimizer.step()
            return loss.detach(), (logits.detach().argmax(dim=1) == self.targets).sum()

        side = torch.cuda.Stream(device)
        side.wait_stream(torch.cuda.current_stream(device))
        with torch.cuda.stream(side):
            for _ in range(warmup_steps):
                optimizer.zero_grad(set_to_none=True)
                step()
        torch.cuda.current_stream(device).wait_stream(side)

        # Undo the warm-up: parameters and optimizer state back to where they were (in place, so
        # the graph captures these very tensors); state created by the warm-up starts at zero,
        # which is the initial value of every state tensor of RMSprop, Adam and SGD (momentum).
        with torch.no_grad():
            for p, saved in zip(params, saved_params):
                p.copy_(saved)
            for p in params:
                for key, value in optimizer.state[p].items():
                    if torch.is_tensor(value):
                        value.copy_(saved_state[id(p)][key]) if id(p) in saved_state else value.zero_()

        self.graph = torch.cuda.CUDAGraph()
        optimizer.zero_grad(set_to_none=True)  # backward inside the graph allocates .grad from its pool
        with torch.cuda.graph(self.graph):
            self.loss, self.correct = step()

    def __call__(self) -> tuple[torch.Tensor, torch.Tensor]:
        inputs, targets = self.data.sample(self.batch_size)
        self.inputs.copy_(inputs)
        self.targets.copy_(targets)
        self.graph.replay()
        return self.loss, self.correct
