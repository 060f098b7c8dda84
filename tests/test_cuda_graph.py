"""The CUDA-graph training step: off on the CPU, and the same numbers as the eager step on a GPU."""

import pytest
import torch

from sweeplab.cuda_graph import use_cuda_graph
from sweeplab.errors import ConfigError
from sweeplab.models import LSTM, CudnnLSTM, VanillaRNN
from sweeplab.tasks.palindrome.data import PalindromeData
from sweeplab.tasks.palindrome.train import train_step
from tests.conftest import TINY, compose_config

CPU = torch.device("cpu")


def test_auto_falls_back_to_eager_on_the_cpu():
    assert use_cuda_graph("auto", CPU) is False
    assert use_cuda_graph(False, CPU) is False
    with pytest.raises(ConfigError, match="trainer.cuda_graph=true needs a CUDA device"):
        use_cuda_graph(True, CPU)


def test_sgd_with_dampening_is_refused_before_anything_is_captured():
    from sweeplab.cuda_graph import capture

    weight = torch.nn.Parameter(torch.zeros(2))
    sgd = torch.optim.SGD([weight], lr=0.1, momentum=0.9, dampening=0.5)
    with pytest.raises(ConfigError, match="set optim.dampening=0 or trainer.cuda_graph=false"):
        capture(lambda: None, [], [sgd], CPU)


def test_cuda_graph_auto_runs_eagerly_on_the_cpu(tmp_path):
    from sweeplab.runner import run_job

    summary = run_job(compose_config([*TINY, "trainer.cuda_graph=auto"]), tmp_path, [])
    assert summary["status"] == "completed"


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("model_cls", [VanillaRNN, LSTM, CudnnLSTM])
@pytest.mark.parametrize("optimizer_name", ["rmsprop", "adam", "sgd"])
def test_graphed_step_computes_the_same_numbers_as_the_eager_step(model_cls, optimizer_name):
    from sweeplab.cuda_graph import GraphedStep

    device = torch.device("cuda")
    make_optimizer = {
        "rmsprop": lambda p: torch.optim.RMSprop(p, lr=1e-3),
        "adam": lambda p: torch.optim.Adam(p, lr=1e-3),
        "sgd": lambda p: torch.optim.SGD(p, lr=1e-2, momentum=0.9),
    }[optimizer_name]
    runs = []
    for graphed in (False, True):
        torch.manual_seed(0)
        model = model_cls(10, hidden_size=32).to(device)
        optimizer = make_optimizer(model.parameters())
        data = PalindromeData(9, "one_hot", seed=1, eval_size=8, eval_seed=0, device=device)
        if graphed:
            graph = GraphedStep(
                lambda x, y: train_step(model, optimizer, x, y, 1.0), data.sample(16), [model], [optimizer]
            )
            data = PalindromeData(9, "one_hot", seed=1, eval_size=8, eval_seed=0, device=device)  # no batch spent
            step = lambda: graph(*data.sample(16))  # noqa: E731
        else:
            step = lambda: train_step(model, optimizer, *data.sample(16), 1.0)  # noqa: E731
        losses = [step()[0].item() for _ in range(6)]
        runs.append((losses, [p.detach().clone() for p in model.parameters()]))
    (eager_losses, eager_params), (graph_losses, graph_params) = runs
    torch.testing.assert_close(graph_losses, eager_losses, rtol=1e-5, atol=1e-6)
    for graph_p, eager_p in zip(graph_params, eager_params):
        torch.testing.assert_close(graph_p, eager_p, rtol=1e-5, atol=1e-6)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_a_graphed_run_resumes_and_matches_an_uninterrupted_one(tmp_path):
    from sweeplab.runner import run_job

    graph = [*TINY[:-1], "trainer.device=cuda", "trainer.cuda_graph=true"]
    full = run_job(compose_config([*graph, "trainer.steps=40"]), tmp_path / "full", [])
    run_job(compose_config([*graph, "trainer.steps=20"]), tmp_path / "half", [])
    (tmp_path / "half" / "summary.json").unlink()
    resumed = run_job(compose_config([*graph, "trainer.steps=40"]), tmp_path / "half", [])
    assert resumed["final_eval_acc"] == pytest.approx(full["final_eval_acc"])
