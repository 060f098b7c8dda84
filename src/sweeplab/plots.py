"""Per-run figures."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display needed
import matplotlib.pyplot as plt  # noqa: E402

from sweeplab.artifacts import atomic_write  # noqa: E402


def plot_curves(rows: list[dict], title: str, path: Path) -> None:
    """Loss and accuracy against step, training and held-out, side by side."""
    steps = [r["step"] for r in rows]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    for ax, metric, label in ((ax_loss, "loss", "cross-entropy"), (ax_acc, "acc", "accuracy")):
        ax.plot(steps, [r[f"train_{metric}"] for r in rows], label="train")
        ax.plot(steps, [r[f"eval_{metric}"] for r in rows], label="held-out")
        ax.set_xlabel("step")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend()
    ax_acc.set_ylim(-0.02, 1.02)
    fig.suptitle(title)
    fig.tight_layout()
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=100))
    plt.close(fig)
