"""Interpolation strips: frames between two latents, linear and slerp, one labelled PNG strip each.

Written at the end of GAN training (quality.generation.evaluate_generator) and on demand from a
checkpoint (`sweeplab task=interpolate`). The endpoints are chosen among `interpolation.candidates`
random latents so that the quality classifier reads them confidently as two different digits; each
frame is labelled with the digit the classifier reads and its confidence, and an endpoint that is
not the digit asked for, or that the classifier is unsure of, is said in a warning.
"""

import logging
from pathlib import Path

import torch

from sweeplab import artifacts
from sweeplab.tasks.gan.quality.latent import path as latent_path

log = logging.getLogger(__name__)

KINDS = ("linear", "slerp")
UNSURE = 0.5  # below this probability the classifier's reading of an endpoint is called unsure


def strip_file(kind: str) -> str:
    return f"interpolation_{kind}.png"


def choose_endpoints(probs: torch.Tensor, from_digit: int | None, to_digit: int | None) -> tuple[int, int, dict]:
    """Indices of two candidates (rows of `probs`, (candidates, 10) class probabilities) whose images read
    as two different digits, as confidently as possible; the digits they stand for and what they read as."""
    confidence, predicted = probs.max(dim=1)

    first = from_digit
    if first is not None:
        i = int(probs[:, first].argmax())
    else:  # the most confident candidate that does not read as a requested `to_digit`
        allowed = confidence if to_digit is None else confidence.masked_fill(predicted == to_digit, -1.0)
        i = int(allowed.argmax())
        first = int(predicted[i])
        if first == to_digit:  # every candidate reads as to_digit: take the next most likely digit
            others = probs[i].clone()
            others[to_digit] = -1.0
            first = int(others.argmax())

    second = to_digit
    if second is not None:
        j = int(probs[:, second].argmax())
    else:
        scores = torch.where(predicted != first, confidence, torch.full_like(confidence, -1.0))
        j = int(scores.argmax())
        if scores[j] < 0:  # every candidate reads as `first` (mode collapse): the one least like it
            j = int(probs[:, first].argmin())
        others = probs[j].clone()
        others[first] = -1.0
        second = int(others.argmax())
    return (
        i,
        j,
        {
            "from_digit": first,
            "to_digit": second,
            "from_confidence": round(float(probs[i, first]), 4),
            "to_confidence": round(float(probs[j, second]), 4),
            "from_reads": int(predicted[i]),
            "to_reads": int(predicted[j]),
            "from_reads_confidence": round(float(confidence[i]), 4),
            "to_reads_confidence": round(float(confidence[j]), 4),
        },
    )


def endpoint_warnings(info: dict, from_digit: int | None, to_digit: int | None, candidates: int) -> list[str]:
    """One sentence per endpoint that does not read as its digit, or reads as it only unsurely."""
    warnings = []
    for end, side, asked in (("start", "from", from_digit), ("end", "to", to_digit)):
        digit, reads, confidence = info[f"{side}_digit"], info[f"{side}_reads"], info[f"{side}_reads_confidence"]
        wanted = f"the asked {digit}" if asked is not None else f"{digit}"
        if reads != digit:
            problem = f"the {end} frame reads as {reads} (confidence {confidence:.2f}), not as {wanted}"
        elif confidence < UNSURE:
            problem = f"the classifier is unsure of the {end} frame: {reads} with confidence {confidence:.2f} only"
        else:
            continue
        warnings.append(
            f"{problem}; none of the {candidates} candidates is a clear {digit}: "
            "raise interpolation.candidates or use a longer-trained generator"
        )
    return warnings


def frame_labels(probs: torch.Tensor) -> tuple[list[int], list[float], list[str]]:
    """What the classifier reads in each frame: digits, confidences, and the labels drawn above the frames."""
    confidence, digits = probs.max(dim=1)
    confidences = [round(float(c), 3) for c in confidence]
    return digits.tolist(), confidences, [f"{d}\n{c:.2f}" for d, c in zip(digits.tolist(), confidences)]


def save_strip(images: torch.Tensor, labels: list[str] | None, title: str, path: Path) -> None:
    """One row of frames (images in [-1, 1]), each under its label, written atomically."""
    from matplotlib.figure import Figure  # the object API: no pyplot state, no backend switch

    frames = images.detach().float().cpu().squeeze(1).numpy()
    fig = Figure(figsize=(0.8 * len(frames), 1.45 if labels else 1.1), dpi=100, layout="constrained")
    axes = fig.subplots(1, len(frames), squeeze=False)[0]
    for k, ax in enumerate(axes):
        ax.imshow(frames[k], cmap="gray", vmin=-1.0, vmax=1.0, interpolation="nearest")
        ax.set_axis_off()
        if labels:
            ax.set_title(labels[k], fontsize=8)
    fig.suptitle(title, fontsize=9)
    artifacts.atomic_write(path, lambda f: fig.savefig(f, format="png"))


@torch.no_grad()
def interpolate(generator_net, classifier, latent_size: int, interp_cfg, seed: int, out_dir: Path, device) -> dict:
    """Write both strips into out_dir; return the endpoints and what the classifier reads along each path."""
    generator_net.eval()
    rng = torch.Generator().manual_seed(seed)
    if classifier is None:  # no quality classifier: two random latents, unlabelled frames
        z0, z1 = torch.randn(2, latent_size, generator=rng)
        info = {"endpoints": "random"}
    else:
        classifier = classifier.to(device).eval()
        z = torch.randn(interp_cfg.candidates, latent_size, generator=rng)
        probs = torch.softmax(classifier(generator_net(z.to(device))), dim=1).cpu()
        i, j, info = choose_endpoints(probs, interp_cfg.from_digit, interp_cfg.to_digit)
        z0, z1 = z[i], z[j]
        info["endpoints"] = "classifier"
        info["warnings"] = endpoint_warnings(info, interp_cfg.from_digit, interp_cfg.to_digit, interp_cfg.candidates)
        for warning in info["warnings"]:
            log.warning("interpolation: %s", warning)
    for kind in KINDS:
        zs = latent_path(z0, z1, interp_cfg.frames, kind)
        images = generator_net(zs.to(device))
        info[f"{kind}_norms"] = [round(float(n), 3) for n in zs.norm(dim=1)]
        labels, title = None, f"{kind}, random endpoints"
        if classifier is not None:
            digits, confidences, labels = frame_labels(torch.softmax(classifier(images), dim=1).cpu())
            info[f"{kind}_digits"], info[f"{kind}_confidences"] = digits, confidences
            title = f"{kind}: {info['from_digit']} to {info['to_digit']} (digit read, confidence)"
        save_strip(images, labels, title, out_dir / strip_file(kind))
    log.info(
        "interpolation %s -> %s: linear reads %s, slerp reads %s",
        info.get("from_digit"),
        info.get("to_digit"),
        info.get("linear_digits"),
        info.get("slerp_digits"),
    )
    return info
