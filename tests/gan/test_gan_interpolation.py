import torch

from sweeplab.interpolation import path


def test_endpoints_are_the_given_vectors():
    torch.manual_seed(0)
    z0, z1 = torch.randn(2, 100)
    for kind in ("linear", "slerp"):
        frames = path(z0, z1, 9, kind)
        assert frames.shape == (9, 100)
        assert torch.allclose(frames[0], z0, atol=1e-5) and torch.allclose(frames[-1], z1, atol=1e-5)


def test_slerp_keeps_the_norm_between_the_endpoints_norms_and_lerp_shrinks():
    torch.manual_seed(1)
    z0, z1 = torch.randn(100), 1.5 * torch.randn(100)  # different norms
    lo, hi = sorted((z0.norm().item(), z1.norm().item()))
    norms = path(z0, z1, 9, "slerp").norm(dim=1)
    assert torch.all(norms >= lo - 1e-4) and torch.all(norms <= hi + 1e-4)
    # linear midpoints of two near-orthogonal Gaussian vectors cut through the inside
    assert path(z0, z1, 9, "linear").norm(dim=1)[4] < 0.8 * (lo + hi) / 2


def test_parallel_vectors_do_not_break_slerp():
    z = torch.randn(10)
    frames = path(z, 2 * z, 5, "slerp")
    assert torch.isfinite(frames).all() and torch.allclose(frames[-1], 2 * z, atol=1e-5)


def test_endpoints_read_as_two_different_digits_when_only_to_digit_is_given(monkeypatch):
    import torch
    from omegaconf import OmegaConf

    from sweeplab.tasks.interpolate import choose_endpoints

    # A "generator" that passes the latent through and a "classifier" that reads its first 10 values:
    # the most confident candidate of all reads as 3, the digit asked for as the end.
    def generator_net(z):
        return z

    def classifier(x):
        return x[:, :10]

    latents = torch.full((4, 10), -5.0)
    latents[0, 3] = 9.0  # most confident of all: a 3
    latents[1, 7] = 5.0
    latents[2, 3] = 4.0
    latents[3, 1] = 2.0
    cfg = OmegaConf.create({"candidates": 4, "from_digit": None, "to_digit": 3})
    monkeypatch.setattr(torch, "randn", lambda *args, **kwargs: latents.clone())  # the 4 candidates
    _, _, info = choose_endpoints(generator_net, classifier, 10, cfg, torch.Generator(), "cpu")
    assert info["to_digit"] == 3
    assert info["from_digit"] == 7  # not the 3 that was most confident
