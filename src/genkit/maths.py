"""Small pieces of maths that several model families share, each written once.

The Gaussian latent of a VAE (reparameterization, KL to the standard normal),
8-bit pixels as probabilities or as a continuous density (dynamic
binarization, the 256 levels and the ``D log 256`` change of scale), nats as
bits per dimension, and labels cycling through the classes for conditional
grids. Functions that draw noise take an optional ``generator``; without one
they use the global RNG (whose state training checkpoints save).
"""

from __future__ import annotations

import math

import torch

#: Levels of an 8-bit pixel.
LEVELS = 256
LN2 = math.log(2.0)


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """One draw z = mu + sigma * eps from N(mu, diag(exp(logvar))), differentiable in mu and logvar."""
    if generator is None:
        eps = torch.randn_like(mu)
    else:
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
    return mu + eps * torch.exp(0.5 * logvar)


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag(exp(logvar))) || N(0, I)) in nats, summed over the last dimension.

    The closed form, one fused expression: cheaper than building
    ``torch.distributions`` objects for every batch, and equal to their KL.
    """
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(-1)


def binarize(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Dynamic binarization: uint8 pixels to {0, 1} floats, 1 with probability x / 255.

    A uniform integer in [0, 254] is below x with probability exactly x / 255;
    one comparison of uint8 tensors is several times cheaper than ``torch.bernoulli``.
    """
    noise = torch.randint(0, LEVELS - 1, x.shape, dtype=torch.uint8, device=x.device, generator=generator)
    return (noise < x).float()


def discretization_nats(dims: int) -> float:
    """``D log 256``: what a continuous log-density of D pixels on [0, 1] loses to become
    the log-probability of the 8-bit image (the bins have volume 256**-D)."""
    return dims * math.log(LEVELS)


def nats_to_bpd(nats: torch.Tensor | float, dims: int) -> torch.Tensor | float:
    """Nats per example to bits per dimension of ``dims``-dimensional data."""
    return nats / (dims * LN2)


def cycled_labels(n: int, num_classes: int, start: int = 0, device: torch.device | str | None = None) -> torch.Tensor:
    """Labels ``start, start + 1, ...`` modulo ``num_classes``: n conditions for a grid that shows
    every class in turn (a batch drawn from ``start`` continues the same cycle)."""
    return torch.arange(start, start + n, device=device) % num_classes
