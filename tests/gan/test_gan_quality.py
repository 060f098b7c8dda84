"""The Frechet distance and class coverage, and the classifier cache."""

import torch

from sweeplab.data.mnist import load_digits, to_unit_range
from sweeplab.quality import DigitClassifier, class_coverage, frechet_distance, load_or_train_classifier
from tests.gan.conftest import compose_config


def _digits(n=300):
    splits = load_digits(compose_config(["task=gan"]).data)
    return to_unit_range(splits.reference[:n]), to_unit_range(splits.train[:n])


def test_frechet_distance_is_zero_against_itself_and_grows_with_a_shift():
    torch.manual_seed(0)
    classifier = DigitClassifier().eval()
    reference, other_real = _digits()
    same = frechet_distance(classifier, reference, reference)
    real = frechet_distance(classifier, reference, other_real)
    shifted = frechet_distance(classifier, reference, torch.roll(reference, shifts=6, dims=3))
    noise = frechet_distance(classifier, reference, torch.rand_like(reference) * 2 - 1)
    assert abs(same) < 1e-3 * max(real, 1e-3) + 1e-4
    assert shifted > 5 * real and noise > 5 * real


def test_class_coverage():
    classifier = DigitClassifier().eval()
    with torch.no_grad():
        classifier.head.weight.zero_()
        classifier.head.bias.copy_(torch.arange(10.0))  # always reads 9
    collapsed = class_coverage(classifier, torch.zeros(20, 1, 28, 28))
    assert collapsed["class_histogram"] == [0] * 9 + [20]
    assert collapsed["class_entropy_bits"] == 0 and collapsed["classes_covered"] == 1


def test_classifier_is_trained_once_and_cached_outside_the_source_tree(tmp_path):
    cfg = compose_config(["task=gan", f"quality.cache_dir={tmp_path}/cache", "quality.classifier_steps=3"])
    splits = load_digits(cfg.data)
    _, first = load_or_train_classifier(splits, cfg.quality)
    _, second = load_or_train_classifier(splits, cfg.quality)
    assert not first["classifier_cached"] and second["classifier_cached"]
    assert first["classifier_path"] == second["classifier_path"]
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [first["classifier_path"].rsplit("/", 1)[1]]
