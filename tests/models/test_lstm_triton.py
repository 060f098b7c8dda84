"""TritonLSTM (the LSTM's time loop in Triton kernels) computes what sweeplab's LSTM computes.

On the CPU the kernels run in Triton's interpreter. Triton reads TRITON_INTERPRET when @triton.jit
decorates a function (so normally at import); `lstm_triton` makes its kernels on first use instead
and asks Triton's knob at every call, so setting the variable per test (monkeypatch) works whatever
was imported before. One test checks that in a fresh process too.
"""

import os
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

pytest.importorskip("triton", reason="triton is not installed (it comes with the CUDA build of torch on Linux)")

from sweeplab.models.lstm import LSTM  # noqa: E402
from sweeplab.models.lstm_triton import LSTMRecurrence, TritonLSTM  # noqa: E402
from tests.test_cuda_graph import (  # noqa: E402  (not named test_*: pytest collects it there only)
    test_graphed_step_computes_the_same_numbers_as_the_eager_step as graphed_step_equals_eager_step,
)

INPUT, CLASSES = 10, 10


@pytest.fixture
def interpret(monkeypatch):
    monkeypatch.setenv("TRITON_INTERPRET", "1")


@pytest.fixture
def compiled(monkeypatch):
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)


def twin_models(hidden_size=16, device="cpu", **triton_kwargs):
    """The reference LSTM and a TritonLSTM with the same state_dict."""
    torch.manual_seed(0)
    reference = LSTM(INPUT, hidden_size=hidden_size, num_classes=CLASSES).to(device)
    with torch.no_grad():  # a nonzero output bias too, so that every parameter matters
        reference.b_p.normal_()
    model = TritonLSTM(INPUT, hidden_size=hidden_size, num_classes=CLASSES, **triton_kwargs).to(device)
    model.load_state_dict(reference.state_dict())
    return reference, model


def logits_and_grads(model, x, y):
    model.zero_grad(set_to_none=True)
    logits = model(x)
    F.cross_entropy(logits, y).backward()
    return logits.detach(), {name: p.grad.clone() for name, p in model.named_parameters()}


def assert_same_step(reference, model, batch, seq_len, device="cpu", rtol=1e-5, atol=1e-6):
    torch.manual_seed(1)
    x = torch.randn(batch, seq_len, INPUT, device=device)
    y = torch.randint(0, CLASSES, (batch,), device=device)
    ref_logits, ref_grads = logits_and_grads(reference, x, y)
    logits, grads = logits_and_grads(model, x, y)
    torch.testing.assert_close(logits, ref_logits, rtol=rtol, atol=atol)
    assert grads.keys() == ref_grads.keys()
    for name in ref_grads:
        torch.testing.assert_close(grads[name], ref_grads[name], rtol=rtol, atol=atol, msg=lambda m: f"{name}: {m}")


def test_same_parameters_and_state_dict_as_the_lstm():
    reference, model = twin_models()
    assert [(k, v.shape) for k, v in model.state_dict().items()] == [
        (k, v.shape) for k, v in reference.state_dict().items()
    ]
    reference.load_state_dict(model.state_dict())  # and back


# B = 5 and 40 are not multiples of BLOCK_B = 16 (40 is three programs, the last one part-masked).
@pytest.mark.parametrize("batch,seq_len", [(5, 1), (5, 4), (16, 1), (16, 4), (40, 3)])
def test_interpreter_matches_the_lstm_forward_and_gradients(interpret, batch, seq_len):
    reference, model = twin_models()
    assert_same_step(reference, model, batch, seq_len)


def test_interpreter_matches_with_wider_hidden_and_block(interpret):
    reference, model = twin_models(hidden_size=32, block_b=32)
    assert_same_step(reference, model, batch=33, seq_len=3)


def test_interpreter_gradcheck_in_float64(interpret):
    torch.manual_seed(0)
    T, B, H = 3, 5, 16
    x_proj = torch.randn(T, B, 4 * H, dtype=torch.float64, requires_grad=True)
    W_h = (0.3 * torch.randn(4 * H, H, dtype=torch.float64)).requires_grad_()
    assert torch.autograd.gradcheck(LSTMRecurrence.apply, (x_proj, W_h), fast_mode=True)


def test_kernels_follow_the_variable_at_call_time_not_import_time():
    """In a fresh process: import everything first, then turn the interpreter on."""
    code = (
        "import os, torch, triton\n"
        "from sweeplab.models.lstm_triton import TritonLSTM\n"
        "os.environ['TRITON_INTERPRET'] = '1'\n"
        "torch.manual_seed(0)\n"
        "print(TritonLSTM(3, hidden_size=16)(torch.randn(2, 2, 3)).shape)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "torch.Size([2, 10])"


# Hopper's most shared memory per block (227 KB); the default launch must fit at the largest H.
HOPPER_SHARED_MEMORY = 232448


@pytest.mark.parametrize("precision", ["ieee", "tf32"])
def test_kernels_compile_for_hopper_without_a_gpu(precision):
    """Triton compiles down to a cubin without a device: catches what the interpreter lets through
    (unsupported ops, a shared-memory budget beyond the H200's) on machines without a GPU."""
    from triton.backends.compiler import GPUTarget
    from triton.compiler.compiler import ASTSource

    from sweeplab.models import lstm_triton

    pointers = {
        "fwd": ["xp_ptr", "w_ptr", "gates_ptr", "c_ptr", "h_ptr"],
        "bwd": ["dh_ptr", "w_ptr", "gates_ptr", "c_ptr", "dz_ptr"],
    }
    kernels = {"fwd": lstm_triton._lstm_forward_kernel, "bwd": lstm_triton._lstm_backward_kernel}
    constants = {"H": lstm_triton.MAX_HIDDEN, "BLOCK_B": 16, "PRECISION": precision}
    for name, fn in kernels.items():
        signature = {p: "*fp32" for p in pointers[name]} | {"T": "i32", "B": "i32"}
        signature |= {k: "constexpr" for k in constants}
        try:
            kernel = lstm_triton.triton.compile(
                ASTSource(lstm_triton.triton.JITFunction(fn), signature, constants),
                target=GPUTarget("cuda", 90, 32),
                options={"num_warps": 8, "num_stages": 1},  # TritonLSTM's defaults
            )
        except FileNotFoundError as error:  # no ptxas with this triton build
            pytest.skip(f"cannot compile for CUDA here: {error}")
        assert "cubin" in kernel.asm
        assert kernel.metadata.shared <= HOPPER_SHARED_MEMORY, (name, kernel.metadata.shared)


@pytest.mark.parametrize("hidden_size", [8, 24, 256])
def test_unsupported_hidden_sizes_are_refused(hidden_size):
    with pytest.raises(ValueError, match="it must be a power of two from 16 to 128"):
        TritonLSTM(INPUT, hidden_size=hidden_size)


def test_unsupported_settings_are_refused():
    with pytest.raises(ValueError, match="model.precision='bf16' is not allowed; it must be one of ieee"):
        TritonLSTM(INPUT, hidden_size=16, precision="bf16")
    with pytest.raises(ValueError, match="model.block_b=8 is not allowed; it must be 16, 32 or 64"):
        TritonLSTM(INPUT, hidden_size=16, block_b=8)
    with pytest.raises(ValueError, match=r"^model=lstm_triton returns the last step only, not outputs='all' .*"
                                         r"use model=lstm or model=lstm_cudnn$"):  # fmt: skip
        TritonLSTM(INPUT, hidden_size=16, outputs="all")
    with pytest.raises(ValueError, match=r"^model=lstm_triton returns the last step only"):
        TritonLSTM.check(hidden_size=16, outputs="all")  # what sweeplab.preflight asks before any run dir


def test_float32_only(interpret):
    model = TritonLSTM(INPUT, hidden_size=16).to(torch.bfloat16)
    with pytest.raises(ValueError, match="supports float32 only"):
        model(torch.randn(2, 3, INPUT, dtype=torch.bfloat16))


def test_cpu_tensors_need_the_interpreter(compiled):
    model = TritonLSTM(INPUT, hidden_size=16)
    with pytest.raises(ValueError, match="needs CUDA tensors, not cpu; set TRITON_INTERPRET=1"):
        model(torch.randn(2, 3, INPUT))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("precision,rtol,atol", [("ieee", 1e-4, 1e-5), ("tf32x3", 1e-4, 1e-5), ("tf32", 2e-2, 2e-3)])
@pytest.mark.parametrize("hidden_size,batch,seq_len", [(32, 40, 5), (128, 128, 20)])
def test_gpu_matches_the_lstm(compiled, precision, rtol, atol, hidden_size, batch, seq_len):
    reference, model = twin_models(hidden_size, "cuda", precision=precision)
    prev = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False  # the reference in full fp32
    try:
        assert_same_step(reference, model, batch, seq_len, "cuda", rtol=rtol, atol=atol)
    finally:
        torch.backends.cuda.matmul.allow_tf32 = prev


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("optimizer_name", ["rmsprop", "adam", "sgd"])
def test_gpu_graphed_step_computes_the_same_numbers_as_the_eager_step(compiled, optimizer_name):
    """tests/test_cuda_graph.py's check (6 steps, graphed vs eager, losses and parameters) with TritonLSTM."""
    graphed_step_equals_eager_step(TritonLSTM, optimizer_name)


def test_a_whole_run_of_model_lstm_triton_in_the_interpreter(interpret, tmp_path):
    """The config option builds the model and trains it end to end (the kernels in the interpreter)."""
    from sweeplab.runner import run_job
    from tests.conftest import TINY, compose_config

    overrides = [
        *TINY,
        "model=lstm_triton",
        "seq_len=4",
        "trainer.steps=4",
        "trainer.eval_every=2",
        "trainer.checkpoint_every=2",
    ]
    summary = run_job(compose_config(overrides), tmp_path, [])
    assert summary["status"] == "completed" and summary["model"] == "lstm_triton" and summary["steps_done"] == 4
