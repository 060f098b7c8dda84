"""Frechet distance on the classifier's penultimate features, and class coverage."""

import math

import torch
from torch import nn
from torchmetrics.image.fid import FrechetInceptionDistance

from sweeplab.tasks.gan.quality.classifier import DigitClassifier

NUM_CLASSES = 10


class PenultimateFeatures(nn.Module):
    """The classifier's penultimate layer as a torchmetrics feature extractor.

    Exposes `num_features` (torchmetrics then skips its dummy forward pass) and stays in eval mode
    even when the metric is switched to training mode.
    """

    def __init__(self, classifier: DigitClassifier):
        super().__init__()
        self.classifier = classifier.eval()
        self.num_features = classifier.num_features
        for p in self.classifier.parameters():
            p.requires_grad_(False)

    def train(self, mode: bool = True):
        return super().train(False)

    @torch.no_grad()
    def forward(self, x):
        return self.classifier.features(x)


@torch.no_grad()
def frechet_distance(classifier: DigitClassifier, real: torch.Tensor, fake: torch.Tensor, batch: int = 500) -> float:
    """Frechet distance between two image sets (float (N, 1, 28, 28) in [-1, 1]) on the classifier's features."""
    device = real.device
    metric = FrechetInceptionDistance(feature=PenultimateFeatures(classifier)).to(device)
    for images, is_real in ((real, True), (fake, False)):
        for chunk in images.split(batch):
            metric.update(chunk, real=is_real)
    return float(metric.compute())


@torch.no_grad()
def class_coverage(classifier: DigitClassifier, images: torch.Tensor, batch: int = 500) -> dict:
    """How the classifier reads a set of images: the histogram of predicted classes and its entropy.

    The entropy is in bits: log2(10) = 3.32 when all ten digits are equally frequent, 0 when the
    generator has collapsed onto one digit.
    """
    predictions = torch.cat([classifier(chunk).argmax(1) for chunk in images.split(batch)])
    counts = torch.bincount(predictions, minlength=NUM_CLASSES).cpu()
    p = counts.double() / counts.sum()
    entropy = max(0.0, -(p[p > 0] * p[p > 0].log2()).sum().item())
    return {
        "class_histogram": counts.tolist(),
        "class_entropy_bits": round(entropy, 4),
        "class_entropy_max_bits": round(math.log2(NUM_CLASSES), 4),
        "classes_covered": int((p >= 0.01).sum()),  # digits making up at least 1% of the samples
    }
