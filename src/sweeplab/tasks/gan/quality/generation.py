"""What a trained generator produces, and how good it is: samples, grids, and the end-of-training evaluation."""

import logging
from pathlib import Path

import torch
from torchvision.utils import save_image

from sweeplab import artifacts
from sweeplab.tasks.gan.data import DigitSplits, to_unit_range

log = logging.getLogger(__name__)


@torch.no_grad()
def generate(generator_net, n: int, latent_size: int, seed: int, device, batch: int = 500) -> torch.Tensor:
    """`n` images from `n` latents drawn on the CPU with `seed` (the same latents on any device)."""
    generator_net.eval()
    z = torch.randn(n, latent_size, generator=torch.Generator().manual_seed(seed))
    return torch.cat([generator_net(chunk.to(device)) for chunk in z.split(batch)])


def save_grid(images: torch.Tensor, path: Path, nrow: int) -> None:
    """Images in [-1, 1] -> one PNG grid, written atomically."""
    images = images.detach().cpu()
    artifacts.atomic_write(
        path,
        lambda f: save_image(images, f, format="png", nrow=nrow, padding=2, normalize=True, value_range=(-1, 1)),
    )


def measure_quality(classifier, generator_net, splits: DigitSplits, samples: int, seed: int, device) -> dict:
    """Frechet distance (generated vs held-out real, and the real-vs-real floor) and class coverage."""
    from sweeplab.tasks.gan.quality.metrics import class_coverage, frechet_distance

    classifier = classifier.to(device)
    reference = to_unit_range(splits.reference).to(device)
    fake = generate(generator_net, samples, generator_net.latent_size, seed, device)
    real_train = to_unit_range(splits.train[:samples]).to(device)
    result = {
        "fid": round(frechet_distance(classifier, reference, fake), 4),
        # the same distance between real training digits and the reference: what a perfect G would get
        "fid_real_floor": round(frechet_distance(classifier, reference, real_train), 4),
        "fid_samples": samples,
        "fid_reference": len(reference),
        **class_coverage(classifier, fake),
    }
    log.info(
        "quality: Frechet distance %.3f (real-vs-real floor %.3f), class histogram %s, entropy %.3f bits",
        result["fid"],
        result["fid_real_floor"],
        result["class_histogram"],
        result["class_entropy_bits"],
    )
    return result


def evaluate_generator(cfg, generator_net, splits: DigitSplits, device, out_dir: Path) -> dict:
    """The end of a GAN run: the quality fields (when `quality.enabled`) and, when
    `interpolation.enabled`, the strips in out_dir and what they read under "interpolation"."""
    from sweeplab.tasks.gan.quality.classifier import load_or_train_classifier
    from sweeplab.tasks.gan.quality.interpolation import interpolate

    result, classifier = {}, None
    if cfg.quality.enabled:
        classifier, info = load_or_train_classifier(splits, cfg.quality)
        # seed + 1: latents other than the fixed noise of the sample grids
        result.update(measure_quality(classifier, generator_net, splits, cfg.quality.samples, cfg.seed + 1, device))
        result.update(info)
    if cfg.interpolation.enabled:  # without a classifier: two random endpoints, unlabelled frames
        result["interpolation"] = interpolate(
            generator_net, classifier, generator_net.latent_size, cfg.interpolation, cfg.seed, out_dir, device
        )
    return result
