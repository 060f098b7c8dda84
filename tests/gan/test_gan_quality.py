"""The Frechet distance and class coverage, the classifier cache, and the end-of-training evaluation."""

import logging
import os

import pytest
import torch

from sweeplab.errors import ConfigError
from sweeplab.tasks.gan.data import load_digits, to_unit_range
from sweeplab.tasks.gan.quality import (
    DigitClassifier,
    check_cache_dir,
    class_coverage,
    evaluate_generator,
    frechet_distance,
    load_or_train_classifier,
)
from tests.gan.conftest import compose_config, tiny


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


def _quality(cache_dir, steps=3):
    cfg = compose_config(["task=gan", f"quality.cache_dir={cache_dir}", f"quality.classifier_steps={steps}"])
    return load_digits(cfg.data), cfg.quality


def test_classifier_is_trained_once_and_cached_outside_the_source_tree(tmp_path, caplog):
    splits, quality = _quality(tmp_path / "cache")
    with caplog.at_level(logging.INFO, logger="sweeplab.tasks.gan.quality.classifier"):
        _, first = load_or_train_classifier(splits, quality)
        _, second = load_or_train_classifier(splits, quality)
    assert not first["classifier_cached"] and second["classifier_cached"]
    assert first["classifier_path"] == second["classifier_path"]
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [first["classifier_path"].rsplit("/", 1)[1]]
    assert any("quality classifier trained in " in r.getMessage() for r in caplog.records)  # how long it took


def test_the_classifier_is_the_same_whatever_the_callers_thread_count(tmp_path):
    splits, quality = _quality(tmp_path / "a", steps=4)
    threads_before, deterministic_before = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    trained = []
    try:
        for threads, cache in ((1, "a"), (2, "b")):
            torch.set_num_threads(threads)
            quality.cache_dir = str(tmp_path / cache)
            model, info = load_or_train_classifier(splits, quality)
            assert torch.get_num_threads() == threads  # the caller's setting is given back
            trained.append((model.state_dict(), info))
    finally:
        torch.set_num_threads(threads_before)
    assert torch.are_deterministic_algorithms_enabled() == deterministic_before
    (first, first_info), (second, second_info) = trained
    assert all(torch.equal(first[key], second[key]) for key in first)
    assert first_info["classifier_acc"] == second_info["classifier_acc"]
    files = [tmp_path / cache / info["classifier_path"].rsplit("/", 1)[1] for cache, (_, info) in zip("ab", trained)]
    assert files[0].name == files[1].name  # one key, one content


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("damage", ["truncated", "empty", "code payload"])
def test_a_corrupt_classifier_cache_is_named_and_retrained(tmp_path, caplog, damage):
    splits, quality = _quality(tmp_path / "cache")
    _, info = load_or_train_classifier(splits, quality)
    cache = tmp_path / "cache" / info["classifier_path"].rsplit("/", 1)[1]
    good = cache.read_bytes()
    marker = tmp_path / "payload-ran"
    if damage == "truncated":
        cache.write_bytes(good[: len(good) // 2])
    elif damage == "empty":
        cache.write_bytes(b"")
    else:
        torch.save({"model": _Payload(marker), "reference_acc": 1.0}, cache)
    with caplog.at_level(logging.WARNING, logger="sweeplab.tasks.gan.quality.classifier"):
        _, again = load_or_train_classifier(splits, quality)
    assert not again["classifier_cached"] and not marker.exists()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and str(cache) in warnings[0] and "training it again" in warnings[0]
    assert cache.read_bytes() == good  # replaced by the same deterministic training
    assert load_or_train_classifier(splits, quality)[1]["classifier_cached"]


def test_a_cache_dir_that_cannot_hold_the_cache_is_refused_in_one_line(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(ConfigError) as error:
        check_cache_dir(tmp_path / "file" / "cache")
    assert f"quality.cache_dir={tmp_path / 'file' / 'cache'} cannot be created" in str(error.value)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("quality, interpolation", [(True, True), (False, True), (True, False)])
def test_evaluate_generator_gives_the_summary_fields(tmp_path, quality, interpolation):
    from sweeplab.models.dcgan import Generator

    overrides = [*tiny(tmp_path / "cache"), f"quality.enabled={quality}", f"interpolation.enabled={interpolation}"]
    cfg = compose_config(overrides)
    torch.manual_seed(0)
    result = evaluate_generator(cfg, Generator(8, 2), load_digits(cfg.data), "cpu", tmp_path)
    quality_keys = {"fid", "fid_real_floor", "fid_samples", "class_histogram", "classifier_acc", "classifier_cached"}
    assert quality_keys <= set(result) if quality else not quality_keys & set(result)
    assert all(isinstance(v, (int, float, str, bool, list, dict)) for v in result.values())  # JSON, no objects
    if quality:
        assert sum(result["class_histogram"]) == result["fid_samples"] == cfg.quality.samples
    assert ("interpolation" in result) == interpolation
    assert (tmp_path / "interpolation_slerp.png").exists() == interpolation
    if interpolation:
        assert result["interpolation"]["endpoints"] == ("classifier" if quality else "random")
