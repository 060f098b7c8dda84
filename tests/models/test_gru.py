"""The explicit GRU computes what torch.nn.GRU computes, and trains through the whole pipeline."""

import pytest
import torch
from torch import nn

from sweeplab.models import GRU


@pytest.mark.parametrize("input_size,T", [(10, 7), (1, 12)])
def test_gru_matches_torch_gru_given_the_same_weights(input_size, T):
    torch.manual_seed(0)
    H = 24
    ref, head = nn.GRU(input_size, H, batch_first=True), nn.Linear(H, 10)
    ours = GRU(input_size, hidden_size=H, num_classes=10)
    with torch.no_grad():  # both stack the gates r, z, n
        ours.W_x.copy_(ref.weight_ih_l0)
        ours.W_h.copy_(ref.weight_hh_l0)
        ours.b_x.copy_(ref.bias_ih_l0)
        ours.b_h.copy_(ref.bias_hh_l0)
        ours.W_ph.copy_(head.weight)
        ours.b_p.copy_(head.bias)
    x = torch.randn(5, T, input_size)
    output, _ = ref(x)
    torch.testing.assert_close(ours(x), head(output[:, -1]), rtol=1e-5, atol=1e-5)


def test_gru_gradients_reach_every_parameter():
    model = GRU(10, hidden_size=8)
    model(torch.randn(4, 6, 10)).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


def test_model_gru_runs_end_to_end(tmp_path, cli):
    from tests.conftest import TINY

    done = cli(["model=gru", *TINY, f"hydra.run.dir={tmp_path / 'run'}"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    import json

    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["model"] == "gru" and summary["status"] == "completed"
    assert summary["n_params"] == 3 * 16 * (10 + 16 + 2) + 10 * 16 + 10
