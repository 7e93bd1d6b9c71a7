"""From 8-bit pixels to the flow's input and back, with every log-determinant.

The flow models a density on logit space. Chaining the change of variables
back to the pixels:

    log P(x) >= E_u[ log p_flow(logit(y)) + log|d logit / dy| ] - D log 256,
    y = (x + u) / 256, u ~ U[0, 1)^D,

where ``- D log 256`` (``genkit.discretization_nats``) turns a density on [0, 1]^D into one on [0, 256]^D, whose
integral over each unit cube is the probability of that 8-bit image. The
expectation over u is the dequantization bound; reported bits per dimension are
those of the discrete data.
"""

from __future__ import annotations

import math

import torch

from genkit import LEVELS

# u is drawn on a grid of 2**-16: x + u is then exact in float32 (24-bit significand),
# so the integer pixels can be recovered from y exactly for further noise draws.
_NOISE_STEPS = 2**16


def dequantize(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """uint8 pixels ``[B, C, H, W]`` to y = (x + u) / 256 in [0, 1)."""
    u = torch.randint(0, _NOISE_STEPS, x.shape, device=x.device, generator=generator, dtype=torch.int32)
    return (x.float() + u.float() / _NOISE_STEPS) / LEVELS


def pixel_levels(y: torch.Tensor) -> torch.Tensor:
    """The integer pixels (as floats) that a dequantized ``y`` came from."""
    return torch.floor(y * LEVELS).clamp_(0, LEVELS - 1)


def logit_transform(y: torch.Tensor, alpha: float) -> tuple[torch.Tensor, torch.Tensor]:
    """y in [0, 1] to v = logit(alpha + (1 - 2 alpha) y), with log|dv/dy| summed per example."""
    p = alpha + (1 - 2 * alpha) * y
    log_p, log_1mp = torch.log(p), torch.log1p(-p)
    logdet = (math.log(1 - 2 * alpha) - log_p - log_1mp).flatten(1).sum(1)
    return log_p - log_1mp, logdet


def inverse_logit(v: torch.Tensor, alpha: float) -> torch.Tensor:
    """Logit-space values back to images in [0, 1] (clamped: a hot sample may leave the box)."""
    return ((torch.sigmoid(v) - alpha) / (1 - 2 * alpha)).clamp_(0.0, 1.0)


def standard_normal_logpdf(z: torch.Tensor) -> torch.Tensor:
    """Per-example log N(z; 0, I), summed over every dimension but the first."""
    return -0.5 * (z.pow(2) + math.log(2 * math.pi)).flatten(1).sum(1)
