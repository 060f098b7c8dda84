"""The interpolation strips: latent paths, endpoint choice, warnings about endpoints, frame labels."""

import logging

import pytest
import torch
from omegaconf import OmegaConf

from sweeplab.tasks.gan.quality.interpolation import choose_endpoints, endpoint_warnings, frame_labels, interpolate
from sweeplab.tasks.gan.quality.latent import path


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


def _probs(rows: dict[int, dict[int, float]], n: int) -> torch.Tensor:
    """(n, 10) probabilities: row k puts the given mass on the given digits, the rest spread evenly."""
    probs = torch.zeros(n, 10)
    for k in range(n):
        given = rows.get(k, {})
        rest = (1 - sum(given.values())) / (10 - len(given))
        probs[k] = rest
        for digit, p in given.items():
            probs[k, digit] = p
    return probs


def test_endpoints_read_as_two_different_digits_when_only_to_digit_is_given():
    probs = _probs({0: {3: 0.95}, 1: {7: 0.8}, 2: {3: 0.7}, 3: {1: 0.6}}, 4)  # the most confident of all is a 3
    i, j, info = choose_endpoints(probs, None, 3)
    assert (info["to_digit"], info["from_digit"]) == (3, 7)  # not the 3 that was most confident
    assert (i, j) == (1, 0) and info["from_reads"] == 7 and info["to_reads"] == 3
    assert endpoint_warnings(info, None, 3, 4) == []


def test_an_endpoint_that_is_not_the_asked_digit_or_is_unsure_is_said():
    # asked 3 -> 7, but no candidate reads as 3 (the best 3 reads as 8) and the best 7 is unsure
    probs = _probs({0: {8: 0.6, 3: 0.3}, 1: {7: 0.4, 1: 0.3}, 2: {8: 0.9, 3: 0.05}}, 3)
    _, _, info = choose_endpoints(probs, 3, 7)
    assert (info["from_digit"], info["from_reads"], info["to_digit"], info["to_reads"]) == (3, 8, 7, 7)
    start, end = endpoint_warnings(info, 3, 7, 3)
    assert "the start frame reads as 8 (confidence 0.60), not as the asked 3" in start
    assert "unsure of the end frame: 7 with confidence 0.40" in end
    assert all("interpolation.candidates" in w and "\n" not in w for w in (start, end))


def test_frame_labels_name_the_digit_read_and_its_confidence():
    digits, confidences, labels = frame_labels(_probs({0: {2: 0.9}, 1: {5: 0.55}}, 2))
    assert digits == [2, 5] and confidences == [0.9, 0.55]
    assert labels == ["2\n0.90", "5\n0.55"]


@pytest.mark.parametrize("with_classifier", [True, False])
def test_interpolate_writes_two_labelled_strips_and_warns(tmp_path, caplog, with_classifier):
    from sweeplab.models.dcgan import Generator
    from sweeplab.tasks.gan.quality import DigitClassifier

    torch.manual_seed(0)
    generator_net, classifier = Generator(8, 2), DigitClassifier() if with_classifier else None
    cfg = OmegaConf.create({"frames": 5, "candidates": 6, "from_digit": 3, "to_digit": 7})
    with caplog.at_level(logging.WARNING):
        info = interpolate(generator_net, classifier, 8, cfg, seed=0, out_dir=tmp_path, device="cpu")
    for kind in ("linear", "slerp"):
        assert (tmp_path / f"interpolation_{kind}.png").read_bytes()[:4] == b"\x89PNG"
        assert len(info[f"{kind}_norms"]) == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["interpolation_linear.png", "interpolation_slerp.png"]
    if with_classifier:  # an untrained classifier on an untrained generator: never a confident 3 and 7
        assert len(info["slerp_digits"]) == len(info["slerp_confidences"]) == 5
        assert info["warnings"] and len(caplog.records) == len(info["warnings"])
        assert all(r.getMessage().startswith("interpolation: ") for r in caplog.records)
    else:
        assert info["endpoints"] == "random" and "slerp_digits" not in info and not caplog.records
