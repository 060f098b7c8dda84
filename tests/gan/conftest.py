"""GAN test fixtures: tiny settings, a tiny IDX data set written the way MNIST ships, the CLI."""

import gzip
import struct

import numpy as np
import pytest

from tests.conftest import compose_config, run_cli  # noqa: F401  (re-exported for the GAN tests)


def tiny(cache_dir) -> list[str]:
    """Overrides that make a GAN run take a second or two on a CPU."""
    return [
        "task=gan",
        "gan.width=4",
        "trainer.batch_size=8",
        "trainer.epochs=2",
        "trainer.max_steps_per_epoch=2",
        "trainer.log_every=1",
        "trainer.samples=16",
        "trainer.device=cpu",
        "quality.classifier_steps=3",
        "quality.classifier_batch_size=16",
        "quality.samples=16",
        "interpolation.candidates=8",
        f"quality.cache_dir={cache_dir}",
    ]


def _idx_images(images: np.ndarray) -> bytes:
    return struct.pack(">IIII", 2051, len(images), 28, 28) + images.astype(np.uint8).tobytes()


def _idx_labels(labels: np.ndarray) -> bytes:
    return struct.pack(">II", 2049, len(labels)) + labels.astype(np.uint8).tobytes()


def write_tiny_mnist(root, n_train: int = 64, n_test: int = 40, packed: bool = True):
    """MNIST-format IDX files under ROOT/MNIST/raw: gzipped training files, unpacked test files."""
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        labels = np.arange(n) % 10
        images = np.zeros((n, 28, 28), dtype=np.uint8)
        for k, label in enumerate(labels):  # a bright bar whose position encodes the label
            images[k, 4:24, 2 + 2 * label : 5 + 2 * label] = 255
        images = np.clip(images + rng.integers(0, 30, images.shape), 0, 255)
        for name, payload in (
            (f"{prefix}-images-idx3-ubyte", _idx_images(images)),
            (f"{prefix}-labels-idx1-ubyte", _idx_labels(labels)),
        ):
            if packed and prefix == "train":
                (raw / f"{name}.gz").write_bytes(gzip.compress(payload))
            else:
                (raw / name).write_bytes(payload)
    return root


@pytest.fixture
def tiny_mnist(tmp_path):
    return write_tiny_mnist(tmp_path / "mnist_root")


@pytest.fixture
def cache_dir(tmp_path):
    return tmp_path / "cache"
