"""Everything that looks at a trained generator: samples and grids, the offline quality metric, and
the interpolation strips.

A small CNN classifier trained on digits held out from GAN training (cached once per data split,
`classifier`) reads the generated images: the Frechet distance between its penultimate features on
generated and on real held-out digits, and the histogram of the classes it predicts (`metrics`).
`generation.evaluate_generator` is what a GAN run calls at its end; `interpolation` writes the
strips (the latent-space math is in `latent`).
"""

from sweeplab.tasks.gan.quality.classifier import DigitClassifier, check_cache_dir, load_or_train_classifier
from sweeplab.tasks.gan.quality.generation import evaluate_generator, generate, save_grid
from sweeplab.tasks.gan.quality.metrics import class_coverage, frechet_distance

__all__ = [
    "DigitClassifier",
    "check_cache_dir",
    "class_coverage",
    "evaluate_generator",
    "frechet_distance",
    "generate",
    "load_or_train_classifier",
    "save_grid",
]
