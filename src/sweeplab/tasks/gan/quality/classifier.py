"""The quality classifier: a small MNIST CNN, trained once per data split and cached.

The cache lives in `quality.cache_dir` (a user cache dir, never the source tree); the file name
holds a hash of everything that determines the weights (the held-out digits, the architecture
version, the training settings), so a changed split or setting trains a new one. Training is
deterministic (one CPU thread, deterministic algorithms, seeded), so the file's content is a
function of that key whichever job trains it first. The file is written atomically: parallel
sweep jobs may both train it, and either copy is complete. An unreadable cache file is named in
a warning and replaced by a freshly trained one.
"""

import contextlib
import hashlib
import json
import logging
import os
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from sweeplab import artifacts
from sweeplab.errors import ConfigError
from sweeplab.tasks.gan.data import DigitSplits, to_unit_range

log = logging.getLogger(__name__)

VERSION = 2  # bump when the architecture or the training recipe changes (2: deterministic, one thread)
TRAINING_THREADS = 1  # the reductions of a CPU convolution are split by thread count: fix it


class DigitClassifier(nn.Module):
    """(N, 1, 28, 28) in [-1, 1] -> 10 logits; `features` gives the 64 penultimate activations."""

    num_features = 64

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1),  # -> (N, 32, 28, 28)
            nn.ReLU(True),
            nn.MaxPool2d(2),  # -> 14x14
            nn.Conv2d(32, 64, 3, padding=1),
            nn.ReLU(True),
            nn.MaxPool2d(2),  # -> (N, 64, 7, 7)
            nn.Flatten(),
            nn.Linear(64 * 7 * 7, self.num_features),
            nn.ReLU(True),
        )
        self.head = nn.Linear(self.num_features, 10)

    def features(self, x):
        return self.body(x)

    def forward(self, x):
        return self.head(self.body(x))


@contextlib.contextmanager
def deterministic_cpu(threads: int = TRAINING_THREADS):
    """Fixed CPU threads and deterministic algorithms inside; the caller's settings restored after."""
    saved_threads = torch.get_num_threads()
    saved_mode = torch.are_deterministic_algorithms_enabled()
    saved_warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(saved_mode, warn_only=saved_warn_only)
        torch.set_num_threads(saved_threads)


def _shift(images: torch.Tensor, generator: torch.Generator, max_shift: int = 2) -> torch.Tensor:
    """Random translations by up to `max_shift` pixels (the held-out set is small: this helps)."""
    padded = F.pad(images, [max_shift] * 4, value=-1.0)
    dx, dy = torch.randint(0, 2 * max_shift + 1, (2,), generator=generator).tolist()
    return padded[:, :, dy : dy + 28, dx : dx + 28]


def train_classifier(images, labels, steps: int, batch_size: int, seed: int) -> DigitClassifier:
    """Train on the CPU: the same weights for the same arguments on any machine with this torch build."""
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]), deterministic_cpu():  # the caller's random stream stays untouched
        torch.manual_seed(seed)
        model = DigitClassifier()
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        batch_size = min(batch_size, len(images))
        x_all = to_unit_range(images)
        bar = tqdm(range(steps), desc="quality classifier", unit="step", disable=None, leave=False)
        with logging_redirect_tqdm():
            for _ in bar:
                idx = torch.randint(0, len(images), (batch_size,), generator=generator)
                loss = F.cross_entropy(model(_shift(x_all[idx], generator)), labels[idx])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
    return model.eval()


@torch.no_grad()
def accuracy(model: DigitClassifier, images, labels) -> float:
    with deterministic_cpu():  # stored in the cache beside the weights: the same number every time
        predictions = torch.cat([model(to_unit_range(b)).argmax(1) for b in images.split(500)])
    return (predictions == labels).double().mean().item()


def cache_path(cache_dir: Path, splits: DigitSplits, steps: int, batch_size: int, seed: int) -> Path:
    key = json.dumps(
        {"v": VERSION, "data": splits.fingerprint(), "steps": steps, "batch": batch_size, "seed": seed},
        sort_keys=True,
    )
    return Path(cache_dir).expanduser() / f"classifier-{hashlib.sha1(key.encode()).hexdigest()[:16]}.pt"


def check_cache_dir(cache_dir) -> Path:
    """The cache dir, created; a path that cannot hold the cache is refused in one line (call it before training)."""
    path = Path(str(cache_dir)).expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(
            f"quality.cache_dir={cache_dir} cannot be created ({reason}); set quality.cache_dir to a writable directory"
        ) from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise ConfigError(
            f"quality.cache_dir={cache_dir} is not writable; set quality.cache_dir to a writable directory"
        )
    return path


def _read_cache(path: Path) -> tuple[DigitClassifier, float] | None:
    """The cached classifier and its accuracy; None (and a warning naming the file) when it is unreadable."""
    try:
        cached = torch.load(path, map_location="cpu", weights_only=True)
        model = DigitClassifier()
        model.load_state_dict(cached["model"])
        return model.eval(), float(cached["reference_acc"])
    except Exception as exc:  # noqa: BLE001  (truncated, empty, another format, a pickle payload: train again)
        reason = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
        log.warning("quality classifier cache %s is unreadable (%s); training it again to replace it", path, reason)
        return None


def load_or_train_classifier(splits: DigitSplits, quality_cfg) -> tuple[DigitClassifier, dict]:
    """The cached classifier for this split (trained and cached on first use), and its info."""
    steps, batch, seed = quality_cfg.classifier_steps, quality_cfg.classifier_batch_size, quality_cfg.classifier_seed
    path = cache_path(check_cache_dir(quality_cfg.cache_dir), splits, steps, batch, seed)
    cached = _read_cache(path) if path.exists() else None
    if cached is not None:
        model, reference_acc = cached
        log.info("quality classifier: %s (cached, held-out accuracy %.4f)", path, reference_acc)
        return model, {"classifier_acc": reference_acc, "classifier_path": str(path), "classifier_cached": True}
    log.info(
        "training the quality classifier on %d held-out digits (%d steps, %d CPU thread, then cached)",
        len(splits.classifier),
        steps,
        TRAINING_THREADS,
    )
    start = time.perf_counter()
    model = train_classifier(splits.classifier, splits.classifier_labels, steps, batch, seed)
    reference_acc = accuracy(model, splits.reference, splits.reference_labels)
    seconds = time.perf_counter() - start
    try:  # replaces a corrupt file atomically; a cache that cannot be written costs a retraining next time
        artifacts.save_torch(path, {"model": model.state_dict(), "reference_acc": reference_acc})
    except OSError as exc:
        log.warning("could not write the quality classifier cache %s (%s); it is trained again next time", path, exc)
    log.info("quality classifier trained in %.1f s: held-out accuracy %.4f, cached in %s", seconds, reference_acc, path)
    return model, {"classifier_acc": reference_acc, "classifier_path": str(path), "classifier_cached": False}
