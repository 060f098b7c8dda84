"""The explicit LSTM with its time loop fused into Triton kernels: one launch forward, one backward.

Same model, parameters and state_dict as `sweeplab.models.lstm.LSTM`; only the recurrence runs
differently:

    z_t = x_proj[t] + W_h h_{t-1}            x_proj = x W_x^T + b for all steps at once (torch)
    g_t = tanh(z_g)    i_t = sigmoid(z_i)    f_t = sigmoid(z_f)    o_t = sigmoid(z_o)
    c_t = g_t * i_t + c_{t-1} * f_t
    h_t = tanh(c_t) * o_t                    h_0 = c_0 = 0
    p   = W_ph h_T + b_p                     (torch)

Backward runs the reverse time loop with dh and dc in registers (dh = dL/dh_t, dc = dL/dc_t):

    do  = dh * tanh(c_t)
    dc += dh * o * (1 - tanh(c_t)^2)
    dz_g = dc * i * (1 - g^2)                dz_i = dc * g * i (1 - i)
    dz_f = dc * c_{t-1} * f (1 - f)          dz_o = do * o (1 - o)
    dh_{t-1} = dz_t W_h                      dc_{t-1} = dc * f

and torch finishes with one GEMM, dW_h = sum_t dz_t^T h_{t-1}. Each program keeps BLOCK_B batch rows'
h and c in registers; nothing depends on the data, so the step can be captured in a CUDA graph.
Supported: float32 CUDA tensors, H a power of two in [16, 128]; with TRITON_INTERPRET=1 the kernels
run in Triton's CPU interpreter (tests). How the kernels are laid out, the precision and launch
settings, and what was measured: docs/PERFORMANCE.md, "The Triton LSTM".
"""

from __future__ import annotations  # the kernels' `tl.constexpr` annotations stay strings (Triton reads them so)

import os

import torch
import torch.nn.functional as F

from sweeplab.models.init import check_recurrent
from sweeplab.models.lstm import LSTM

try:
    import triton
    import triton.language as tl
except ImportError:  # CI installs only what pyproject lists; the model then raises when used
    triton = tl = None

PRECISIONS = ("ieee", "tf32x3", "tf32")
MAX_HIDDEN = 128  # four (H, H) fp32 tiles of W_h pass through shared memory: 64 KB each at H = 128


# In the kernels tanh(x) is spelled out as 1 - 2 / (exp(2x) + 1) and sigmoid(x) as 1 / (1 + exp(-x)):
# exact to fp32 rounding (absolutely; near 0 tanh's relative error grows), +-1 and 0/1 at overflow,
# and needing neither libdevice nor another @jit function (see _kernels).


def _lstm_forward_kernel(
    xp_ptr,  # (T, B, 4H) in: x_t W_x^T + b for every step, time-major, gates in the order g, i, f, o
    w_ptr,  # (4H, H) in: W_h = [W_gh; W_ih; W_fh; W_oh]
    gates_ptr,  # (T, B, 4H) out: the activated gates g, i, f, o of every step
    c_ptr,  # (T, B, H) out: c_1 .. c_T
    h_ptr,  # (T, B, H) out: h_1 .. h_T
    T,
    B,
    H: tl.constexpr,
    BLOCK_B: tl.constexpr,
    PRECISION: tl.constexpr,
):
    rows = tl.program_id(0) * BLOCK_B + tl.arange(0, BLOCK_B)  # this program's batch rows
    cols = tl.arange(0, H)
    mask = (rows[:, None] < B) & (cols[None, :] < H)  # (BLOCK_B, H): rows past the batch are off
    gate_off = rows[:, None] * (4 * H) + cols[None, :]  # gate g of one step; + k*H for gate k
    state_off = rows[:, None] * H + cols[None, :]
    # Gate k's block of W_h is W_h[kH:(k+1)H, :] (H out x H in); z_k = h W_k^T, so read it
    # transposed: element [j, n] of W_k^T is W_h[kH + n, j].
    wt_off = cols[:, None] + cols[None, :] * H
    dtype = xp_ptr.dtype.element_ty
    h = tl.full((BLOCK_B, H), 0.0, dtype)  # h_0 = 0 (tl.full, not tl.zeros: see _kernels)
    c = tl.full((BLOCK_B, H), 0.0, dtype)  # c_0 = 0
    for t in range(T):
        xp_t = xp_ptr + t * B * 4 * H
        # z = x_proj[t] + h_{t-1} W_h^T, one (BLOCK_B, H) x (H, H) product per gate
        z_g = tl.load(xp_t + gate_off, mask=mask, other=0.0)
        z_g += tl.dot(h, tl.load(w_ptr + wt_off), input_precision=PRECISION)
        z_i = tl.load(xp_t + gate_off + H, mask=mask, other=0.0)
        z_i += tl.dot(h, tl.load(w_ptr + H * H + wt_off), input_precision=PRECISION)
        z_f = tl.load(xp_t + gate_off + 2 * H, mask=mask, other=0.0)
        z_f += tl.dot(h, tl.load(w_ptr + 2 * H * H + wt_off), input_precision=PRECISION)
        z_o = tl.load(xp_t + gate_off + 3 * H, mask=mask, other=0.0)
        z_o += tl.dot(h, tl.load(w_ptr + 3 * H * H + wt_off), input_precision=PRECISION)
        g = 1 - 2 / (tl.exp(2 * z_g) + 1)  # tanh
        i = 1 / (1 + tl.exp(-z_i))  # sigmoid
        f = 1 / (1 + tl.exp(-z_f))
        o = 1 / (1 + tl.exp(-z_o))
        c = g * i + c * f
        h = (1 - 2 / (tl.exp(2 * c) + 1)) * o  # tanh(c) * o
        gates_t = gates_ptr + t * B * 4 * H
        tl.store(gates_t + gate_off, g, mask=mask)
        tl.store(gates_t + gate_off + H, i, mask=mask)
        tl.store(gates_t + gate_off + 2 * H, f, mask=mask)
        tl.store(gates_t + gate_off + 3 * H, o, mask=mask)
        tl.store(c_ptr + t * B * H + state_off, c, mask=mask)
        tl.store(h_ptr + t * B * H + state_off, h, mask=mask)


def _lstm_backward_kernel(
    dh_ptr,  # (B, H) in: dL/dh_T
    w_ptr,  # (4H, H) in: W_h
    gates_ptr,  # (T, B, 4H) in: the forward's activated gates
    c_ptr,  # (T, B, H) in: c_1 .. c_T
    dz_ptr,  # (T, B, 4H) out: dL/dz_t, the gradient of x_proj
    T,
    B,
    H: tl.constexpr,
    BLOCK_B: tl.constexpr,
    PRECISION: tl.constexpr,
):
    rows = tl.program_id(0) * BLOCK_B + tl.arange(0, BLOCK_B)
    cols = tl.arange(0, H)
    mask = (rows[:, None] < B) & (cols[None, :] < H)
    gate_off = rows[:, None] * (4 * H) + cols[None, :]
    state_off = rows[:, None] * H + cols[None, :]
    # dh_{t-1} = dz_k W_k summed over the gates k: W_k = W_h[kH:(k+1)H, :] read as it lies.
    w_off = cols[:, None] * H + cols[None, :]
    dh = tl.load(dh_ptr + state_off, mask=mask, other=0.0)  # dL/dh_T; zero in masked rows
    dc = tl.full((BLOCK_B, H), 0.0, dh.dtype)  # nothing flows into c_T from later steps
    for s in range(T):
        t = T - 1 - s
        gates_t = gates_ptr + t * B * 4 * H
        g = tl.load(gates_t + gate_off, mask=mask, other=0.0)
        i = tl.load(gates_t + gate_off + H, mask=mask, other=0.0)
        f = tl.load(gates_t + gate_off + 2 * H, mask=mask, other=0.0)
        o = tl.load(gates_t + gate_off + 3 * H, mask=mask, other=0.0)
        c = tl.load(c_ptr + t * B * H + state_off, mask=mask, other=0.0)
        c_prev = tl.load(c_ptr + (t - 1) * B * H + state_off, mask=mask & (t > 0), other=0.0)  # c_0 = 0
        tanh_c = 1 - 2 / (tl.exp(2 * c) + 1)
        do = dh * tanh_c
        dc += dh * o * (1 - tanh_c * tanh_c)
        dz_g = dc * i * (1 - g * g)
        dz_i = dc * g * i * (1 - i)
        dz_f = dc * c_prev * f * (1 - f)
        dz_o = do * o * (1 - o)
        dz_t = dz_ptr + t * B * 4 * H
        tl.store(dz_t + gate_off, dz_g, mask=mask)
        tl.store(dz_t + gate_off + H, dz_i, mask=mask)
        tl.store(dz_t + gate_off + 2 * H, dz_f, mask=mask)
        tl.store(dz_t + gate_off + 3 * H, dz_o, mask=mask)
        dh = tl.dot(dz_g, tl.load(w_ptr + w_off), input_precision=PRECISION)
        dh = tl.dot(dz_i, tl.load(w_ptr + H * H + w_off), dh, input_precision=PRECISION)
        dh = tl.dot(dz_f, tl.load(w_ptr + 2 * H * H + w_off), dh, input_precision=PRECISION)
        dh = tl.dot(dz_o, tl.load(w_ptr + 3 * H * H + w_off), dh, input_precision=PRECISION)
        dc = dc * f


_KERNELS = {}


def _interpreting() -> bool:
    """Whether TRITON_INTERPRET is set now (Triton's knob reads the variable at every call)."""
    knobs = getattr(triton, "knobs", None)  # Triton >= 3.4; older ones read the variable directly
    if knobs is None:
        return os.environ.get("TRITON_INTERPRET", "0").lower() in ("1", "true", "on", "yes")
    return bool(knobs.runtime.interpret)


def _kernels(interpret: bool):
    """The two kernels, compiled (JITFunction) or for Triton's CPU interpreter, made on first use.

    @triton.jit picks between the two by TRITON_INTERPRET when it decorates, i.e. at import; making
    them here from the plain functions lets the setting at call time decide, whatever the import
    order. For the same reason the kernels call no @jit function: triton.language's own (tl.zeros,
    tl.sigmoid, tl.sum, ...) were decorated when triton was imported and fail in the other mode
    ("Cannot call @triton.jit'd outside of the scope of a kernel"); builtins (tl.full, tl.exp,
    tl.dot, tl.load, ...) work in both.
    """
    if triton is None:
        raise RuntimeError("TritonLSTM needs triton (it comes with the CUDA build of torch on Linux)")
    if interpret not in _KERNELS:
        if interpret:
            from triton.runtime.interpreter import InterpretedFunction as make
        else:
            make = triton.JITFunction
        _KERNELS[interpret] = (make(_lstm_forward_kernel), make(_lstm_backward_kernel))
    return _KERNELS[interpret]


def unavailable_on(device: torch.device) -> str | None:
    """Why the kernels cannot run on `device` (one line for the user), or None when they can."""
    if triton is None:
        return "model=lstm_triton needs triton (it comes with the CUDA build of torch on Linux); use model=lstm"
    if int(triton.__version__.split(".")[0]) < 3:  # tl.dot's input_precision
        return f"model=lstm_triton needs triton >= 3.0, not {triton.__version__}; use model=lstm"
    if device.type != "cuda" and not _interpreting():
        return f"model=lstm_triton runs Triton kernels on a CUDA GPU, not on {device.type}; use model=lstm there"
    return None


def check_hidden_size(H: int) -> None:
    if H < 16 or H > MAX_HIDDEN or H & (H - 1):
        raise ValueError(f"model.hidden_size={H} is not allowed; it must be a power of two from 16 to {MAX_HIDDEN}")


def check_supported(x_proj: torch.Tensor, W_h: torch.Tensor, interpret: bool) -> None:
    """One-line ValueError for what the kernels do not handle."""
    T, B, four_h = x_proj.shape
    H = W_h.shape[1]
    check_hidden_size(H)
    allowed = (torch.float32, torch.float64) if interpret else (torch.float32,)
    if x_proj.dtype not in allowed or W_h.dtype != x_proj.dtype:
        raise ValueError(f"TritonLSTM supports float32 only, not {x_proj.dtype} input with {W_h.dtype} weights")
    if not interpret and (x_proj.device.type != "cuda" or W_h.device.type != "cuda"):
        raise ValueError(
            f"TritonLSTM needs CUDA tensors, not {x_proj.device.type}; "
            "set TRITON_INTERPRET=1 to run Triton's interpreter"
        )
    if T < 1 or four_h != 4 * H or W_h.shape != (4 * H, H):
        raise ValueError(f"TritonLSTM: x_proj {tuple(x_proj.shape)} and W_h {tuple(W_h.shape)} do not fit")
    if T * B * 4 * H >= 2**31:
        raise ValueError(f"TritonLSTM: T * batch * 4H = {T * B * 4 * H} overflows the kernels' int32 offsets")


class LSTMRecurrence(torch.autograd.Function):
    """h_T from x_proj (T, B, 4H) and W_h (4H, H): the LSTM's time loop, one kernel each way."""

    @staticmethod
    def forward(ctx, x_proj, W_h, block_b=16, precision="ieee", num_warps=8):
        interpret = _interpreting()
        forward_kernel, _ = _kernels(interpret)
        check_supported(x_proj, W_h, interpret)
        x_proj, W_h = x_proj.contiguous(), W_h.contiguous()
        T, B, _ = x_proj.shape
        H = W_h.shape[1]
        gates = torch.empty_like(x_proj)
        cs = x_proj.new_empty(T, B, H)
        hs = x_proj.new_empty(T, B, H)
        if x_proj.dtype == torch.float64:
            precision = "ieee"  # tl.dot takes float64 in ieee only (interpreter checks only)
        grid = (triton.cdiv(B, block_b),)
        forward_kernel[grid](
            x_proj,
            W_h,
            gates,
            cs,
            hs,
            T,
            B,
            H=H,
            BLOCK_B=block_b,
            PRECISION=precision,
            num_warps=num_warps,
            num_stages=1,
        )
        ctx.save_for_backward(W_h, gates, cs, hs)
        ctx.config = (interpret, block_b, precision, num_warps)
        return hs[T - 1]

    @staticmethod
    def backward(ctx, dh_T):
        W_h, gates, cs, hs = ctx.saved_tensors
        interpret, block_b, precision, num_warps = ctx.config
        _, backward_kernel = _kernels(interpret)
        T, B, four_h = gates.shape
        H = four_h // 4
        dz = torch.empty_like(gates)
        grid = (triton.cdiv(B, block_b),)
        backward_kernel[grid](
            dh_T.contiguous(),
            W_h,
            gates,
            cs,
            dz,
            T,
            B,
            H=H,
            BLOCK_B=block_b,
            PRECISION=precision,
            num_warps=num_warps,
            num_stages=1,
        )
        # dW_h = sum_t dz_t^T h_{t-1}: one GEMM over all steps; h_0 = 0, so step 0 adds nothing.
        dW_h = dz[1:].reshape(-1, four_h).t() @ hs[:-1].reshape(-1, H)
        return dz, dW_h, None, None, None


def last_step_only(outputs: str) -> str:
    return (
        f"model=lstm_triton returns the last step only, not outputs={outputs!r} (this task answers at every "
        "step): use model=lstm or model=lstm_cudnn"
    )


class TritonLSTM(LSTM):
    """`sweeplab.models.LSTM` with the recurrence in Triton kernels (see the module docstring).

    Takes LSTM's arguments, plus: block_b, the batch rows per program (a power of two >= 16: tl.dot
    needs 16); precision, "ieee" (exact fp32, default), "tf32x3" or "tf32"; num_warps per program.
    None of them is in the state_dict.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int = 128,
        num_classes: int = 10,
        forget_bias: float = 1.0,
        init: str = "xavier",
        block_b: int = 16,
        precision: str = "ieee",
        num_warps: int = 8,
        outputs: str = "last",
    ):
        if outputs != "last":  # the kernels keep h_T only
            raise ValueError(last_step_only(outputs))
        super().__init__(input_size, hidden_size, num_classes, forget_bias, init)
        # The one place these rules live: a bad value is a one-line ConfigError (sweeplab.build).
        if precision not in PRECISIONS:
            raise ValueError(f"model.precision={precision!r} is not allowed; it must be one of {', '.join(PRECISIONS)}")
        if block_b not in (16, 32, 64):  # tl.dot needs >= 16 rows; 128 overflows shared memory
            raise ValueError(f"model.block_b={block_b!r} is not allowed; it must be 16, 32 or 64")
        if num_warps not in (1, 2, 4, 8, 16):
            raise ValueError(f"model.num_warps={num_warps!r} is not allowed; it must be 1, 2, 4, 8 or 16")
        check_hidden_size(self.hidden_size)
        self.block_b, self.precision, self.num_warps = block_b, precision, num_warps

    unavailable_on = staticmethod(unavailable_on)  # the task asks every model before any work

    @staticmethod
    def check(outputs: str = "last", **settings) -> None:
        """LSTM's rules, and the kernels' one limit (sweeplab.preflight: before any run dir)."""
        check_recurrent(outputs="last", **settings)
        if outputs != "last":
            raise ValueError(last_step_only(outputs))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (batch, time, input_size) -> logits (batch, num_classes)."""
        B, T, _ = x.shape
        # The input projection of every step in one GEMM, time-major: x_proj[t] = x_t W_x^T + b.
        x_proj = torch.addmm(self.b, x.transpose(0, 1).reshape(T * B, -1), self.W_x.t()).view(T, B, -1)
        h_T = LSTMRecurrence.apply(x_proj, self.W_h, self.block_b, self.precision, self.num_warps)
        return F.linear(h_T, self.W_ph, self.b_p)
