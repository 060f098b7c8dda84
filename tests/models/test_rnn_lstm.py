"""The explicit RNN and LSTM compute the same functions as torch.nn.RNN and torch.nn.LSTM."""

import pytest
import torch
from torch import nn

from sweeplab.models import GRU, LSTM, CudnnLSTM, VanillaRNN


def _reference_lstm_logits(ref: nn.LSTM, head: nn.Linear, x):
    output, _ = ref(x)
    return head(output[:, -1])


@pytest.mark.parametrize("input_size,T", [(10, 7), (1, 12)])
def test_lstm_matches_torch_lstm_given_the_same_weights(input_size, T):
    torch.manual_seed(0)
    H = 24
    ref = nn.LSTM(input_size, H, batch_first=True)
    head = nn.Linear(H, 10)
    ours = LSTM(input_size, hidden_size=H, num_classes=10)

    def reorder(w):  # torch orders the gates i, f, g, o; the equations (and ours) g, i, f, o
        i, f, g, o = w.chunk(4, dim=0)
        return torch.cat([g, i, f, o])

    with torch.no_grad():
        ours.W_x.copy_(reorder(ref.weight_ih_l0))
        ours.W_h.copy_(reorder(ref.weight_hh_l0))
        ours.b.copy_(reorder(ref.bias_ih_l0 + ref.bias_hh_l0))
        ours.W_ph.copy_(head.weight)
        ours.b_p.copy_(head.bias)
    x = torch.randn(5, T, input_size)
    torch.testing.assert_close(ours(x), _reference_lstm_logits(ref, head, x), rtol=1e-5, atol=1e-5)


def test_rnn_matches_torch_rnn_given_the_same_weights():
    torch.manual_seed(0)
    H = 24
    ref = nn.RNN(10, H, nonlinearity="tanh", batch_first=True)
    head = nn.Linear(H, 10)
    ours = VanillaRNN(10, hidden_size=H, num_classes=10)
    with torch.no_grad():
        ours.W_hx.copy_(ref.weight_ih_l0)
        ours.W_hh.copy_(ref.weight_hh_l0)
        ours.b_h.copy_(ref.bias_ih_l0 + ref.bias_hh_l0)
        ours.W_ph.copy_(head.weight)
        ours.b_p.copy_(head.bias)
    x = torch.randn(6, 9, 10)
    output, _ = ref(x)
    torch.testing.assert_close(ours(x), head(output[:, -1]), rtol=1e-5, atol=1e-5)


def test_forget_gate_bias_is_initialised_from_the_option():
    H = 8
    model = LSTM(10, hidden_size=H, forget_bias=1.0)
    g, i, f, o = model.b.detach().chunk(4)
    assert torch.all(f == 1.0)
    assert torch.all(g == 0) and torch.all(i == 0) and torch.all(o == 0)
    assert torch.all(LSTM(10, hidden_size=H, forget_bias=0.0).b == 0)
    cudnn = CudnnLSTM(10, hidden_size=H, forget_bias=1.0)
    total = (cudnn.lstm.bias_ih_l0 + cudnn.lstm.bias_hh_l0).detach()
    assert torch.all(total[H : 2 * H] == 1.0)  # torch's forget slice
    assert torch.all(total[:H] == 0) and torch.all(total[2 * H :] == 0)


@pytest.mark.parametrize("model_cls", [VanillaRNN, LSTM, CudnnLSTM])
@pytest.mark.parametrize("batch", [1, 3, 17])
def test_any_batch_size_gives_logits_of_the_right_shape(model_cls, batch):
    model = model_cls(10, hidden_size=16, num_classes=10)
    logits = model(torch.randn(batch, 5, 10))
    assert logits.shape == (batch, 10)
    # Logits, not probabilities: CrossEntropyLoss applies the softmax itself.
    assert not torch.allclose(logits.sum(dim=1), torch.ones(batch))


def test_gradients_reach_every_parameter():
    model = LSTM(10, hidden_size=8)
    model(torch.randn(4, 6, 10)).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("model_cls", [VanillaRNN, LSTM, CudnnLSTM])
def test_models_run_on_cuda_with_state_on_the_input_device(model_cls):
    model = model_cls(10, hidden_size=16).cuda()
    logits = model(torch.randn(3, 5, 10, device="cuda"))
    assert logits.device.type == "cuda" and logits.shape == (3, 10)


@pytest.mark.parametrize("model_cls", [VanillaRNN, LSTM])
def test_init_schemes(model_cls):
    H = 32
    recurrent = lambda m: m.W_hh if isinstance(m, VanillaRNN) else m.W_h  # noqa: E731
    orthogonal = model_cls(10, hidden_size=H, init="orthogonal")
    for block in recurrent(orthogonal).detach().chunk(recurrent(orthogonal).shape[0] // H):
        torch.testing.assert_close(block @ block.T, torch.eye(H), atol=1e-5, rtol=0)
    xavier = model_cls(10, hidden_size=H, init="xavier")
    assert recurrent(xavier).abs().max() <= (6 / (2 * H)) ** 0.5
    assert recurrent(xavier).abs().max() > 1 / H**0.5  # wider than torch's default
    default = model_cls(10, hidden_size=H, init="torch")
    assert recurrent(default).abs().max() <= 1 / H**0.5
    with pytest.raises(
        ValueError, match=r"^model.init='zeros' is not allowed; it must be one of xavier, orthogonal, torch$"
    ):
        model_cls(10, hidden_size=H, init="zeros")


@pytest.mark.parametrize("model", [VanillaRNN, GRU, LSTM, CudnnLSTM])
def test_every_step_ends_with_the_last_step_given_the_same_weights(model):
    """outputs="all" (a task that answers at every step) returns (batch, time, classes) whose last step
    is what outputs="last" returns, and whose step t is the last step of the first t inputs."""
    torch.manual_seed(0)
    last = model(3, hidden_size=8, num_classes=4)
    every = model(3, hidden_size=8, num_classes=4, outputs="all")
    every.load_state_dict(last.state_dict())
    x = torch.randn(2, 6, 3)
    logits = every(x)
    assert logits.shape == (2, 6, 4)
    torch.testing.assert_close(logits[:, -1], last(x), rtol=0, atol=0)
    torch.testing.assert_close(logits[:, 2], last(x[:, :3]), rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match=r"^outputs='some' is not allowed; it must be one of last, all$"):
        model(3, outputs="some")
