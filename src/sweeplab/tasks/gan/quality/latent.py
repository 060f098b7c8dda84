"""Paths through the latent space between two vectors: linear and spherical (the math of the interpolation strips).

Gaussian latents in d dimensions live near the shell of radius sqrt(d); a straight line between two
of them cuts through the inside (its midpoint is about 1/sqrt(2) as long), where the generator saw
no training inputs. `slerp` follows the great circle between the two directions instead and
interpolates the length linearly, so every frame's norm stays between the endpoints' norms.
"""

import torch

EPS = 1e-7


def lerp(z0: torch.Tensor, z1: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Straight line: (1 - t) z0 + t z1, one row per entry of t."""
    t = t.view(-1, 1).to(z0)
    return (1 - t) * z0 + t * z1


def slerp(z0: torch.Tensor, z1: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Great circle between the directions of z0 and z1, with the norm going linearly from |z0| to |z1|."""
    t = t.view(-1, 1).to(z0)
    n0, n1 = z0.norm(), z1.norm()
    u0, u1 = z0 / n0, z1 / n1
    omega = torch.arccos(torch.clamp(torch.dot(u0, u1), -1.0, 1.0))
    if torch.sin(omega) < EPS:  # (anti)parallel directions: no unique great circle
        direction = lerp(u0, u1, t)
        direction = direction / direction.norm(dim=1, keepdim=True).clamp_min(EPS)
    else:
        direction = (torch.sin((1 - t) * omega) * u0 + torch.sin(t * omega) * u1) / torch.sin(omega)
    return ((1 - t) * n0 + t * n1) * direction


def path(z0: torch.Tensor, z1: torch.Tensor, frames: int, kind: str) -> torch.Tensor:
    """(frames, d): `frames` evenly spaced points from z0 to z1 (both included), linear or slerp."""
    t = torch.linspace(0.0, 1.0, frames)
    if kind == "linear":
        return lerp(z0, z1, t)
    if kind == "slerp":
        return slerp(z0, z1, t)
    raise ValueError(f"unknown interpolation {kind!r}; use linear or slerp")
