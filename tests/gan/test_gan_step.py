"""The DCGAN training step's fast variants compute what the plain eager step computes."""

import pytest
import torch

from sweeplab.models.dcgan import build_dcgan
from sweeplab.tasks.gan.train import train_step


def _train(device, steps=4, channels_last=False, graphed=False, width=8):
    """Losses and parameters after `steps` DCGAN steps from a fixed seed, on fixed random 'real' images."""
    torch.manual_seed(0)
    generator_net, discriminator = build_dcgan(latent_size=16, width=width)
    nets = [generator_net.to(device), discriminator.to(device)]
    if channels_last:
        nets = [net.to(memory_format=torch.channels_last) for net in nets]
    nets += [torch.optim.Adam(net.parameters(), lr=2e-4, betas=(0.5, 0.999)) for net in nets]
    layout = torch.channels_last if channels_last else torch.contiguous_format
    images = torch.rand(max(steps, 1), 8, 1, 28, 28, generator=torch.Generator().manual_seed(1)).mul(2).sub(1)
    batches = [real.to(device).contiguous(memory_format=layout) for real in images[:steps]]
    if graphed:
        from sweeplab.cuda_graph import GraphedStep

        noise_like = torch.zeros(batches[0].size(0), 16, device=device)
        graph = GraphedStep(lambda r, z: train_step(*nets, r, z), (batches[0], noise_like), nets[:2], nets[2:])
        step = lambda real: graph(real, torch.randn(real.size(0), 16, device=device))  # noqa: E731
    else:
        step = lambda real: train_step(*nets, real, torch.randn(real.size(0), 16, device=device))  # noqa: E731
    losses = [[s.item() for s in step(real)] for real in batches]
    return losses, state_of(nets)


def state_of(nets) -> list[torch.Tensor]:
    """Every parameter and buffer (BatchNorm statistics, batch counts) and every optimizer state
    tensor (moments, step counters), on the CPU."""
    generator_net, discriminator, *optimizers = nets
    tensors = [t for net in (generator_net, discriminator) for t in (*net.parameters(), *net.buffers())]
    tensors += [v for opt in optimizers for state in opt.state.values() for v in state.values() if torch.is_tensor(v)]
    return [t.detach().float().cpu().clone() for t in tensors]


def _assert_same(a, b, rtol=1e-4, atol=1e-5):
    (losses_a, params_a), (losses_b, params_b) = a, b
    torch.testing.assert_close(losses_a, losses_b, rtol=rtol, atol=atol)
    for pa, pb in zip(params_a, params_b):
        torch.testing.assert_close(pa, pb, rtol=rtol, atol=atol)


def test_the_step_trains_both_networks():
    (first, *_), _ = _train("cpu", steps=1)
    losses, params = _train("cpu", steps=3)
    _, initial = _train("cpu", steps=0)
    assert all(not torch.equal(p, q) for p, q in zip(params, initial) if p.numel() > 1)
    assert losses[0] == first  # the same seed gives the same run


def test_channels_last_computes_the_same_step():
    _assert_same(_train("cpu", channels_last=True), _train("cpu"))


def test_cuda_graph_is_refused_on_the_cpu(tmp_path, cache_dir):
    from sweeplab.errors import ConfigError
    from sweeplab.runner import run_job
    from tests.gan.conftest import compose_config, tiny

    with pytest.raises(ConfigError, match="trainer.cuda_graph=true needs a CUDA device"):
        run_job(compose_config([*tiny(cache_dir), "trainer.cuda_graph=true"]), tmp_path / "run", [])


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("channels_last", [False, True])
def test_graphed_step_computes_the_same_numbers_as_the_eager_step(channels_last):
    device = torch.device("cuda")
    eager = _train(device, steps=6, channels_last=channels_last)
    graphed = _train(device, steps=6, channels_last=channels_last, graphed=True)
    _assert_same(graphed, eager)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("eager_steps_before", [0, 2])
def test_capturing_leaves_every_network_and_optimizer_tensor_as_it_was(eager_steps_before):
    """The warm-up before the capture trains for a few steps; all of it must be undone exactly."""
    from sweeplab.cuda_graph import GraphedStep, set_capturable

    device = torch.device("cuda")
    torch.manual_seed(0)
    nets = [net.to(device) for net in build_dcgan(latent_size=16, width=8)]
    nets += [torch.optim.Adam(net.parameters(), lr=2e-4, betas=(0.5, 0.999)) for net in nets]
    real = torch.rand(8, 1, 28, 28, device=device) * 2 - 1
    for _ in range(eager_steps_before):
        train_step(*nets, real, torch.randn(8, 16, device=device))
    for opt in nets[2:]:
        set_capturable(opt, True, device)
    before = state_of(nets)
    GraphedStep(lambda r, z: train_step(*nets, r, z), (real, torch.zeros(8, 16, device=device)), nets[:2], nets[2:])
    after = state_of(nets)
    if eager_steps_before == 0:  # the warm-up created the optimizer state: it must start from zero
        assert len(after) > len(before) and all(not t.any() for t in after[len(before) :])
        after = after[: len(before)]
    assert len(after) == len(before)
    for a, b in zip(after, before):
        assert torch.equal(a, b)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_a_graphed_gan_run_resumes_and_matches_an_uninterrupted_one(tmp_path, cache_dir):
    from sweeplab.runner import run_job
    from tests.gan.conftest import compose_config, tiny

    graph = [o for o in tiny(cache_dir) if not o.startswith("trainer.device")]
    graph += ["trainer.device=cuda", "trainer.cuda_graph=true", "quality.enabled=false", "interpolation.enabled=false"]
    run_job(compose_config([*graph, "trainer.epochs=2"]), tmp_path / "full", [])
    run_job(compose_config([*graph, "trainer.epochs=1"]), tmp_path / "half", [])
    (tmp_path / "half" / "summary.json").unlink()
    first_half = torch.load(tmp_path / "half" / "checkpoint.pt", weights_only=False)["rows"]
    resumed = run_job(compose_config([*graph, "trainer.epochs=2"]), tmp_path / "half", [])
    assert resumed["steps_done"] == 4
    final = {name: torch.load(tmp_path / name / "checkpoint.pt", weights_only=False) for name in ("full", "half")}
    assert final["half"]["rows"][: len(first_half)] == first_half  # it continued, not started over
    for key in ("generator", "discriminator"):
        for name, value in final["full"][key].items():
            torch.testing.assert_close(final["half"][key][name], value, rtol=1e-5, atol=1e-6)
    for key in ("opt_g", "opt_d"):
        for param, state in final["full"][key]["state"].items():
            for name, value in state.items():
                torch.testing.assert_close(final["half"][key]["state"][param][name], value, rtol=1e-5, atol=1e-7)


def test_a_channels_last_run_completes(tmp_path, cache_dir):
    from sweeplab.runner import run_job
    from tests.gan.conftest import compose_config, tiny

    overrides = [*tiny(cache_dir), "trainer.channels_last=true", "quality.enabled=false", "interpolation.enabled=false"]
    summary = run_job(compose_config(overrides), tmp_path / "run", [])
    assert summary["status"] == "completed" and summary["steps_done"] == 4
