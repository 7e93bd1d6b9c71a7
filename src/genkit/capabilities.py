"""Optional capabilities a model declares by implementing them.

genkit checks these with ``isinstance`` to decide what a model supports: a GAN
is a :class:`LatentModel` without a likelihood, a flow is a
:class:`LikelihoodModel` and a :class:`LatentModel` without an encoder, a VAE is
all four, and a model conditioned on an observed part of its images is also a
:class:`CompletionModel`. The CLI turns a missing capability into one clear line.
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


#: What a likelihood is a likelihood of: a :class:`LikelihoodModel` says which in its
#: ``likelihood_space`` attribute, and genkit names bits per dimension after it.
BINARIZED = "binarized"  # pixels binarized to {0, 1}: log P of a binary image
EIGHT_BIT = "8-bit"  # the 8-bit image (dequantized for a density, counted on 256 levels): log P of 256-level pixels
CONTINUOUS = "continuous"  # a density of continuous pixel values (no discretisation)
LIKELIHOOD_SPACES = (BINARIZED, EIGHT_BIT, CONTINUOUS)


@runtime_checkable
class LikelihoodModel(Protocol):
    """Has a (possibly estimated) log-likelihood of the data.

    The model also sets ``likelihood_space`` (an attribute of every
    :class:`GenerativeModel`, ``None`` by default) to one of
    :data:`LIKELIHOOD_SPACES`: which data ``log_likelihood`` is the likelihood of.
    Only an ``"8-bit"`` likelihood has bits per dimension (``bpd``); a binarized
    model's figure is bits per binarized pixel, another quantity under another name.
    """

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


@runtime_checkable
class CompletionModel(Protocol):
    """Completes images from the part of them it is conditioned on.

    For a model whose ``conditioning`` is a kind of condition its ``prepare_batch``
    builds from the image itself (an observed column, say), not a label:
    see :func:`completes`.
    """

    def complete(self, batch: Batch, generator: torch.Generator | None = None) -> torch.Tensor:
        """One completion per example of a prepared batch, from its ``condition``: images
        ``[B, C, H, W]`` in [0, 1]; draw any randomness from ``generator``."""
        ...

    def observed(self, batch: Batch) -> torch.Tensor:
        """What each completion starts from, drawn as images ``[B, C, H, W]`` in [0, 1]: the
        observed pixels as ``prepare_batch`` kept them, the rest grey."""
        ...


def completes(model: object) -> bool:
    """Whether ``model`` completes images from part of them: a :class:`CompletionModel` whose
    condition is built from the image (a label-conditional model draws a class, it completes nothing)."""
    return isinstance(model, CompletionModel) and getattr(model, "conditioning", None) not in (None, "label")


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
    if completes(model):
        found.append("completion")
    if getattr(model, "conditioning", None):
        found.append(f"conditional ({model.conditioning})")
    return found
