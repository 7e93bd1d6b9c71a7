"""Drawing from a model: the sampler contract, prior samples, interpolation paths and 2-D latent grids."""

from __future__ import annotations

import inspect
import math

import torch

from .capabilities import LatentModel
from .errors import CapabilityError
from .maths import cycled_labels

#: Options of ``genkit sample`` a sampler may take, by naming them in its ``sample`` signature.
USER_OPTIONS = ("temperature", "steps", "guidance")


class Sampler:
    """A way of drawing images from a model; plugins register more with :class:`genkit.SamplerSpec`.

    ``sample(model, n, *, condition=None, generator=None, ...)`` returns ``n`` images
    ``[n, C, H, W]`` with values in [0, 1]. Beyond ``n``, a sampler receives only the
    keyword arguments its ``sample`` signature names, from: ``condition`` (labels or
    another condition), ``generator`` (a seeded ``torch.Generator``: draw all noise from
    it, so samples repeat), ``temperature`` (float), ``steps`` (int, for iterative
    samplers), ``guidance`` (float, classifier-free guidance) and ``progress``
    (``progress(done, total)``, for a progress bar over steps). A user option its
    signature lacks is refused with one line, so it never silently does nothing.
    """

    name: str = ""
    description: str = ""

    def unsupported_reason(self, model) -> str | None:
        """Why this sampler cannot draw from ``model``, or None if it can."""
        return None

    def sample(
        self, model, n: int, *, condition: torch.Tensor | None = None, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        raise NotImplementedError


class PriorSampler(Sampler):
    """Ancestral sampling: z ~ N(0, temperature^2 I), then decode."""

    name = "prior"
    description = "decode latent codes drawn from the prior, scaled by --temperature"

    def unsupported_reason(self, model) -> str | None:
        return None if isinstance(model, LatentModel) else "it decodes latent codes, and this model has no latent space"

    def sample(self, model, n, *, temperature=1.0, condition=None, generator=None):
        z = prior_latents(model, n, temperature=temperature, generator=generator)
        return model.decode(z, condition)


def default_sampler_name(model) -> str | None:
    """The sampler a model is drawn with unless another is named: its own, else ``prior``
    for a latent-variable model, else None (the model cannot sample)."""
    declared = getattr(model, "default_sampler", None)
    if declared:
        return declared
    return "prior" if isinstance(model, LatentModel) else None


def sampler_options(sampler: Sampler) -> set[str]:
    """The keyword arguments ``sampler.sample`` accepts (all known ones if it takes ``**kwargs``)."""
    params = inspect.signature(sampler.sample).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return {*USER_OPTIONS, "condition", "generator", "progress"}
    return {
        p.name for p in params if p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    }


def grid_condition(
    model,
    n: int,
    images: torch.Tensor,
    labels: torch.Tensor | None,
    num_classes: int | None,
    generator: torch.Generator | None = None,
) -> tuple[int, torch.Tensor | None]:
    """How many samples to draw for a training-time grid, and their condition.

    A label-conditional model gets every class in turn. A model conditioned on
    something derived from the image (an observed part of it) gets the
    conditions of the first ``n`` of ``images`` as its own ``prepare_batch``
    builds them, so the core needs to know nothing about that kind.
    """
    kind = getattr(model, "conditioning", None)
    if kind is None:
        return n, None
    if kind == "label":
        return n, cycled_labels(n, num_classes, device=images.device) if num_classes else None
    from .model import Batch

    n = min(n, images.shape[0])
    raw = Batch(x=images[:n], y=None if labels is None else labels[:n])
    return n, model.prepare_batch(raw, generator=generator).condition


def require_latent(model, what: str) -> None:
    if not isinstance(model, LatentModel):
        raise CapabilityError(f"{what} needs a model with a latent space; this model has none")


def prior_latents(model, n: int, temperature: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
    require_latent(model, "sampling from the prior")
    device = next(model.parameters()).device
    z = torch.randn((n, *model.latent_shape), generator=generator, device=generator.device if generator else device)
    return (z * temperature).to(device)


def lerp(z0: torch.Tensor, z1: torch.Tensor, steps: int) -> torch.Tensor:
    """``steps`` points on the straight line from z0 to z1, ends included."""
    t = torch.linspace(0, 1, steps, device=z0.device).view(-1, *([1] * z0.dim()))
    return (1 - t) * z0 + t * z1


def slerp(z0: torch.Tensor, z1: torch.Tensor, steps: int) -> torch.Tensor:
    """Spherical interpolation, which keeps points at the norm typical of a Gaussian prior."""
    a, b = z0.flatten(), z1.flatten()
    omega = torch.arccos(torch.clamp(torch.dot(a / a.norm(), b / b.norm()), -1.0, 1.0))
    if omega.abs() < 1e-6:
        return lerp(z0, z1, steps)
    t = torch.linspace(0, 1, steps, device=z0.device).view(-1, *([1] * z0.dim()))
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)


def interpolate(z0: torch.Tensor, z1: torch.Tensor, steps: int, method: str = "linear") -> torch.Tensor:
    if method not in ("linear", "spherical"):
        raise CapabilityError(f"unknown interpolation '{method}' (use linear or spherical)")
    return (lerp if method == "linear" else slerp)(z0, z1, steps)


def latent_grid(side: int, latent_shape: tuple[int, ...], dims: tuple[int, int] = (0, 1)) -> torch.Tensor:
    """``side*side`` latent codes spanning two latent dimensions through the normal's
    inverse CDF, so equal steps in the grid are equal steps of prior probability."""
    size = math.prod(latent_shape)
    if size < 2:
        raise CapabilityError("a 2-D latent grid needs at least two latent dimensions")
    values = torch.special.ndtri(torch.linspace(0.5 / side, 1 - 0.5 / side, side, dtype=torch.float64)).float()
    z = torch.zeros(side * side, size)
    ys, xs = torch.meshgrid(values.flip(0), values, indexing="ij")
    z[:, dims[0]] = xs.reshape(-1)
    z[:, dims[1]] = ys.reshape(-1)
    return z.view(side * side, *latent_shape)


def latent_grid_point(x: float, y: float, side: int, latent_shape: tuple[int, ...], dims: tuple[int, int] = (0, 1)):
    """The latent code under the point at fractions ``(x, y)`` of a picture of :func:`latent_grid`
    (``(0, 0)`` its top left corner, one tile per code): each tile's centre gives exactly that
    tile's code, and points between centres fall between their codes, clamped to the grid."""
    low, high = 0.5 / side, 1 - 0.5 / side
    fractions = torch.tensor([min(max(x, low), high), min(max(1 - y, low), high)], dtype=torch.float64)
    values = torch.special.ndtri(fractions).float()
    z = torch.zeros(math.prod(latent_shape))
    z[dims[0]], z[dims[1]] = values[0], values[1]
    return z.view(*latent_shape)
