"""An offline quality metric for generated digits.

A small CNN classifier trained on digits held out from GAN training (cached once per data split)
reads the generated images: the Frechet distance between its penultimate features on generated and
on real held-out digits (`frechet`), and the histogram of the classes it predicts (`coverage`).
"""

from sweeplab.quality.classifier import DigitClassifier, load_or_train_classifier
from sweeplab.quality.metrics import class_coverage, frechet_distance

__all__ = ["DigitClassifier", "load_or_train_classifier", "class_coverage", "frechet_distance"]
