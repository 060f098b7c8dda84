"""The quality classifier: a small MNIST CNN, trained once per data split and cached.

The cache lives in `quality.cache_dir` (a user cache dir, never the source tree); the file name
holds a hash of everything that determines the weights (the held-out digits, the architecture
version, the training settings), so a changed split or setting trains a new one. The file is
written atomically: parallel sweep jobs may both train it, and either copy is complete.
"""

import hashlib
import json
import logging
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from sweeplab import artifacts
from sweeplab.data.mnist import DigitSplits, to_unit_range

log = logging.getLogger(__name__)

VERSION = 1  # bump when the architecture or the training recipe changes


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


def _shift(images: torch.Tensor, generator: torch.Generator, max_shift: int = 2) -> torch.Tensor:
    """Random translations by up to `max_shift` pixels (the held-out set is small: this helps)."""
    padded = F.pad(images, [max_shift] * 4, value=-1.0)
    dx, dy = torch.randint(0, 2 * max_shift + 1, (2,), generator=generator).tolist()
    return padded[:, :, dy : dy + 28, dx : dx + 28]


def train_classifier(images, labels, steps: int, batch_size: int, seed: int) -> DigitClassifier:
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = DigitClassifier()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    batch_size = min(batch_size, len(images))
    x_all = to_unit_range(images)
    for _ in range(steps):
        idx = torch.randint(0, len(images), (batch_size,), generator=generator)
        loss = F.cross_entropy(model(_shift(x_all[idx], generator)), labels[idx])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return model.eval()


@torch.no_grad()
def accuracy(model: DigitClassifier, images, labels) -> float:
    predictions = torch.cat([model(to_unit_range(b)).argmax(1) for b in images.split(500)])
    return (predictions == labels).double().mean().item()


def cache_path(cache_dir: Path, splits: DigitSplits, steps: int, batch_size: int, seed: int) -> Path:
    key = json.dumps(
        {"v": VERSION, "data": splits.fingerprint(), "steps": steps, "batch": batch_size, "seed": seed},
        sort_keys=True,
    )
    return Path(cache_dir).expanduser() / f"classifier-{hashlib.sha1(key.encode()).hexdigest()[:16]}.pt"


def load_or_train_classifier(splits: DigitSplits, quality_cfg) -> tuple[DigitClassifier, dict]:
    """The cached classifier for this split (trained and cached on first use), and its info."""
    steps, batch, seed = quality_cfg.classifier_steps, quality_cfg.classifier_batch_size, quality_cfg.classifier_seed
    path = cache_path(quality_cfg.cache_dir, splits, steps, batch, seed)
    model = DigitClassifier()
    if path.exists():
        cached = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(cached["model"])
        info = {"classifier_acc": cached["reference_acc"], "classifier_path": str(path), "classifier_cached": True}
        log.info("quality classifier: %s (cached, held-out accuracy %.4f)", path, cached["reference_acc"])
        return model.eval(), info
    log.info("training the quality classifier on %d held-out digits (%d steps)", len(splits.classifier), steps)
    with torch.random.fork_rng():  # leaves the GAN run's random stream untouched
        model = train_classifier(splits.classifier, splits.classifier_labels, steps, batch, seed)
    reference_acc = accuracy(model, splits.reference, splits.reference_labels)
    path.parent.mkdir(parents=True, exist_ok=True)
    artifacts.save_torch(path, {"model": model.state_dict(), "reference_acc": reference_acc})
    log.info("quality classifier: held-out accuracy %.4f, cached in %s", reference_acc, path)
    return model, {"classifier_acc": reference_acc, "classifier_path": str(path), "classifier_cached": False}
