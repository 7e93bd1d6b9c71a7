"""Optional capabilities a model declares by implementing them.

genkit checks these with ``isinstance`` to decide what a model supports: a GAN
is a :class:`LatentModel` without a likelihood, a flow is a
:class:`LikelihoodModel` and a :class:`LatentModel` without an encoder, a VAE is
all four. The CLI turns a missing capability into one clear line.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch

from .model import Batch


@runtime_checkable
class LatentModel(Protocol):
    """Generates images by decoding latent codes drawn from a standard normal prior."""

    #: Shape of one latent code (without the batch dimension).
    latent_shape: tuple[int, ...]

    def decode(self, z: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        """Latent codes ``[B, *latent_shape]`` to images ``[B, C, H, W]`` in [0, 1]."""
        ...


@runtime_checkable
class EncoderModel(Protocol):
    """Maps images to latent codes (the posterior mean for a VAE)."""

    def encode(self, batch: Batch) -> torch.Tensor:
        """A prepared batch to latent codes ``[B, *latent_shape]``."""
        ...


@runtime_checkable
class LikelihoodModel(Protocol):
    """Has a (possibly estimated) log-likelihood of the data."""

    def log_likelihood(self, batch: Batch, samples: int) -> torch.Tensor:
        """Per-example ``log p(x)`` in nats ``[B]`` of the data as ``prepare_batch``
        gives it for evaluation, with ``samples`` importance or dequantization draws.
        """
        ...


@runtime_checkable
class BoundModel(Protocol):
    """Has an evidence lower bound."""

    def elbo(self, batch: Batch) -> torch.Tensor:
        """Per-example ELBO in nats ``[B]``."""
        ...


def capabilities(model: object) -> list[str]:
    """Names of the capabilities ``model`` implements, for ``genkit info``."""
    found = []
    for name, proto in [
        ("latent", LatentModel),
        ("encoder", EncoderModel),
        ("likelihood", LikelihoodModel),
        ("bound", BoundModel),
    ]:
        if isinstance(model, proto):
            found.append(name)
    if getattr(model, "conditioning", None):
        found.append(f"conditional ({model.conditioning})")
    return found
