"""Drawing from a model: the sampler contract, and the one place every draw is checked.

A :class:`Sampler` implements only what is its own: how it turns noise into images.
A :class:`Drawing` binds a sampler to a model with the user's options and checks
everything else, once, for every caller: which options the sampler takes and their
values, the condition or label, the start noise (:func:`start_noise`), and the
images that come back. :mod:`genkit.drawing` picks the registered sampler that makes a
:class:`Drawing`; ``genkit sample``, the training grids and every evaluator
(``EvalContext.draw``) draw through one, and interpolation and the manifold decode
through :func:`decode`, whose images pass the same check. Interpolation paths and 2-D
latent grids are here too.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import torch

from .capabilities import LatentModel
from .deprecation import warn as warn_deprecated
from .errors import CapabilityError, GenkitError, PluginError
from .maths import cycled_labels

#: Options of ``genkit sample`` and ``genkit score`` a sampler may take, by naming them in its ``sample`` signature.
USER_OPTIONS = ("temperature", "steps", "guidance")
#: Why a model cannot be drawn from unless a sampler is named for it.
CANNOT_SAMPLE = "it has no latent space and names no default sampler"


class Sampler:
    """A way of drawing images from a model; plugins register more with :class:`genkit.SamplerSpec`.

    ``sample(model, n, *, condition=None, generator=None, ...)`` returns ``n`` images
    ``[n, C, H, W]`` with values in [0, 1]. Beyond ``n``, a sampler receives only the
    keyword arguments its ``sample`` signature names, from: ``condition`` (labels or
    another condition), ``generator`` (a seeded ``torch.Generator``: draw all noise from
    it, for example with :func:`genkit.start_noise`, so samples repeat), ``temperature``
    (float), ``steps`` (int, for iterative samplers), ``guidance`` (float,
    classifier-free guidance) and ``progress`` (``progress(done, total)``, for a progress
    bar over steps).

    genkit checks, before ``sample`` runs, that the sampler applies to the model
    (:meth:`unsupported_reason`, and the models its ``SamplerSpec`` names), that every
    option given is one its signature names (so none silently does nothing) with a valid
    value (``steps`` at least 1, ``temperature`` and ``guidance`` not negative, ``guidance``
    only for a conditional model), and that a condition is one the model takes; after, it
    checks the images' shape, type and range. A sampler checks only what is its own (a
    step count above what its model supports, say).
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
        return model.decode(start_noise(model, n, generator, scale=temperature), condition)


def start_noise(model, n: int, generator: torch.Generator | None = None, *, scale: float = 1.0) -> torch.Tensor:
    """``n`` draws of N(0, scale^2 I) shaped like the model's latent codes (``latent_shape``), on the
    model's device: what a latent model's samplers start from. The noise comes from ``generator``
    on that generator's own device, so a seed gives the same noise whatever device the model is on."""
    shape = getattr(model, "latent_shape", None)
    if shape is None:
        raise CapabilityError("start noise is shaped like a latent code, and this model has no latent_shape")
    device = model_device(model)
    z = torch.randn((n, *shape), generator=generator, device=generator.device if generator is not None else device)
    return (z * scale).to(device)


def model_device(model) -> torch.device:
    """The device of a model's weights (the CPU for a model without any)."""
    first = next(model.parameters(), None)
    return first.device if first is not None else torch.device("cpu")


def default_sampler_name(model) -> str | None:
    """The sampler a model is drawn with unless another is named: its own, else ``prior``
    for a latent-variable model, else None (the model cannot sample)."""
    declared = getattr(model, "default_sampler", None)
    if declared:
        return declared
    return "prior" if isinstance(model, LatentModel) else None


#: The sampler the user named for what is being drawn now (``genkit score --sampler``), once it
#: was found to apply: a metric that needs samples applies to a model without a default sampler.
_named_sampler: ContextVar[str | None] = ContextVar("genkit_named_sampler", default=None)


@contextmanager
def drawing_with(name: str | None) -> Iterator[None]:
    """Within this block, models are drawn with the sampler ``name`` (None: with their own)."""
    token = _named_sampler.set(name)
    try:
        yield
    finally:
        _named_sampler.reset(token)


def sampler_in_use(model) -> str | None:
    """The sampler ``model`` is drawn with here: the one named for this block (:func:`drawing_with`),
    else its default; None when it cannot sample."""
    return _named_sampler.get() or default_sampler_name(model)


def sampling_refusal(model) -> str | None:
    """Why samples of ``model`` cannot be drawn without a condition of its own (what a metric that
    draws them asks for), or None: it has no sampler here, or it draws only given a condition of a
    kind its own commands build (an observed column)."""
    if sampler_in_use(model) is None:
        return f"this model cannot sample ({CANNOT_SAMPLE})"
    kind = getattr(model, "conditioning", None)
    if kind not in (None, "label"):
        return f"this model draws only given a '{kind}' condition of its own"
    return None


def sampler_options(sampler: Sampler) -> set[str]:
    """The keyword arguments ``sampler.sample`` accepts (all known ones if it takes ``**kwargs``)."""
    params = inspect.signature(sampler.sample).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return {*USER_OPTIONS, "condition", "generator", "progress"}
    return {
        p.name for p in params if p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    }


class Drawing:
    """One sampler bound to one model with the user's options: every draw's checks, in one place.

    :func:`genkit.drawing.drawing` makes one from the registered sampler it picks (and
    checks that it applies); an evaluator's ``ctx.draw`` calls one. Options are checked
    when it is made, so a bad one stops a command before any work; the condition and the
    images on every call.

    Args:
        model: the model, on its device.
        sampler: the :class:`Sampler` (its ``sample`` is called with the arguments it names).
        name: the sampler's registered name, for messages.
        options: ``temperature``, ``steps`` and ``guidance`` as the user gave them (None: not given).
        model_name: the model's registered name, for messages.
        owner: the plugin that registered the sampler, named in a refusal of its output.
    """

    def __init__(
        self,
        model,
        sampler: Sampler,
        name: str,
        options: dict[str, Any] | None = None,
        *,
        model_name: str | None = None,
        owner: str | None = None,
    ):
        self.model, self.sampler, self.name = model, sampler, name
        self.model_name = model_name
        self.source = f"sampler '{name}'" + (f" (from {owner})" if owner else "")
        self.accepts = sampler_options(sampler)
        self.options = self._checked_options(options or {})

    def __call__(
        self,
        n: int,
        *,
        label: int | None = None,
        condition: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
        progress=None,
    ) -> torch.Tensor:
        """``n`` checked images ``[n, C, H, W]`` in [0, 1] (eval mode is the caller's; no gradients).

        ``label`` draws that class (the user's ``--label``); ``condition`` is a condition
        tensor as the model's ``prepare_batch`` builds it. A label-conditional model drawn
        with neither draws every class in turn.
        """
        kwargs = dict(self.options)
        condition = checked_condition(self.model, n, label, condition, self.model_name)
        if condition is not None and "condition" not in self.accepts:
            raise CapabilityError(
                f"sampler '{self.name}' takes no condition, and {_named(self.model_name)} is conditional"
            )
        for key, value in (("condition", condition), ("generator", generator), ("progress", progress)):
            if value is not None and key in self.accepts:
                kwargs[key] = value
        with torch.no_grad():
            images = self.sampler.sample(self.model, n, **kwargs)
        check_images(images, n, tuple(self.model.data_info.shape), self.source)
        return images

    def _checked_options(self, options: dict[str, Any]) -> dict[str, Any]:
        return checked_options(self.name, self.accepts, options, self.model, self.model_name)


def checked_options(
    name: str, accepts: set[str], options: dict[str, Any], model=None, model_name: str | None = None
) -> dict[str, Any]:
    """The user's options that were given (not None), refused where sampler ``name`` takes none of
    them or a value is out of range; ``--guidance`` only for a conditional ``model``."""
    given = {k: v for k, v in options.items() if v is not None}
    for key in given:
        if key not in accepts:
            takes = ", ".join(f"--{k}" for k in USER_OPTIONS if k in accepts) or "no options"
            raise CapabilityError(f"--{key} does not apply to sampler '{name}' (it takes {takes})")
    steps, temperature, guidance = (given.get(k) for k in ("steps", "temperature", "guidance"))
    if steps is not None and int(steps) < 1:
        raise GenkitError(f"--steps must be at least 1 (got {steps})")
    for key, value in (("temperature", temperature), ("guidance", guidance)):
        if value is not None and float(value) < 0:
            raise GenkitError(f"--{key} must not be negative (got {value:g})")
    if guidance is not None and model is not None and getattr(model, "conditioning", None) is None:
        raise CapabilityError(f"--guidance applies only to a conditional model, and {_named(model_name)} is not one")
    return given


def checked_condition(
    model, n: int, label: int | None = None, condition: torch.Tensor | None = None, model_name: str | None = None
) -> torch.Tensor | None:
    """The condition to draw ``n`` images of ``model`` with: ``label`` (checked against the model's
    classes) as a tensor, ``condition`` as given, or for a label-conditional model given neither,
    every class in turn. Refused in one line: a label for a model that takes none, a label out of
    range, a model that needs a condition of its own kind without one, a condition for an
    unconditional model."""
    named = _named(model_name)
    kind = getattr(model, "conditioning", None)
    classes = model.data_info.num_classes or 1
    if label is not None:
        if kind != "label":
            raise CapabilityError(f"{named} takes no class label; --label applies only to label-conditional models")
        if not 0 <= label < classes:
            raise CapabilityError(f"--label {label} is out of range: {named} knows classes 0 to {classes - 1}")
        condition = torch.full((n,), label, device=model_device(model))
    elif condition is None and kind == "label":
        condition = cycled_labels(n, classes, device=model_device(model))
    if condition is None and kind is not None:
        raise CapabilityError(f"{named} needs a '{kind}' condition to sample; use its own command")
    if condition is not None and kind is None:
        raise CapabilityError(f"{named} is not conditional, and a condition was given")
    return condition


def _named(model_name: str | None) -> str:
    return f"'{model_name}'" if model_name else "this model"


def check_images(images: Any, n: int, shape: tuple[int, ...], source: str) -> None:
    """Refuse what ``source`` (a sampler, a model's decode) returned unless it is ``n`` images of
    ``shape`` in [0, 1]: one line, before anything is drawn or scored."""
    if not isinstance(images, torch.Tensor):
        raise PluginError(f"{source} returned {type(images).__name__}, not a tensor of images")
    if tuple(images.shape) != (n, *shape):
        raise PluginError(f"{source} returned a tensor of shape {list(images.shape)}; expected {[n, *shape]}")
    if not images.is_floating_point():
        raise PluginError(f"{source} returned {images.dtype} images; expected floats in [0, 1]")
    if not bool(torch.isfinite(images).all()):
        raise PluginError(f"{source} returned non-finite values (NaN or inf)")
    low, high = float(images.min()), float(images.max())
    if low < -1e-3 or high > 1 + 1e-3:
        raise PluginError(f"{source} returned values in [{low:.3g}, {high:.3g}]; images must be in [0, 1]")


def check_decodable(model, what: str, model_name: str | None = None) -> None:
    """Refuse ``what`` (interpolation, the manifold: pictures of chosen latent codes) for a model
    without a latent space or one that needs a condition."""
    _require_latent(model, what, model_name)
    kind = getattr(model, "conditioning", None)
    named = _named(model_name)
    if kind is not None:
        raise CapabilityError(f"{what} of a conditional model is not supported ({named} is conditioned on a {kind})")


def _require_latent(model, what: str, model_name: str | None = None) -> None:
    if not isinstance(model, LatentModel):
        raise CapabilityError(f"{what} needs a model with a latent space, and {_named(model_name)} has none")


def decode(model, z: torch.Tensor, *, what: str, model_name: str | None = None) -> torch.Tensor:
    """Images of the latent codes ``z`` (``model.decode``, no gradients), checked like every draw."""
    check_decodable(model, what, model_name)
    with torch.no_grad():
        images = model.decode(z)
    check_images(images, z.shape[0], tuple(model.data_info.shape), f"the decode() of '{model_name or 'the model'}'")
    return images


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


# -- the names this module had before the one drawing path, kept working ----------------------
def prior_latents(model, n: int, temperature: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
    """Deprecated: :func:`start_noise` (``scale=temperature``)."""
    warn_deprecated(
        "genkit.sampling.prior_latents",
        "call genkit.start_noise(model, n, generator, scale=temperature)",
        since="1.5",
        removed_in="2.0",
    )
    return start_noise(model, n, generator, scale=temperature)


def require_latent(model, what: str) -> None:
    """Deprecated: :func:`check_decodable` (which also refuses a conditional model)."""
    warn_deprecated(
        "genkit.sampling.require_latent",
        "call genkit.sampling.check_decodable(model, what)",
        since="1.5",
        removed_in="2.0",
    )
    _require_latent(model, what)


def grid_condition(
    model,
    n: int,
    images: torch.Tensor,
    labels: torch.Tensor | None,
    num_classes: int | None,
    generator: torch.Generator | None = None,
) -> tuple[int, torch.Tensor | None]:
    """Deprecated: a drawing gives a label-conditional model every class in turn itself, and the
    training grids build other conditions (genkit.training.grids)."""
    warn_deprecated(
        "genkit.sampling.grid_condition",
        "draw through genkit.drawing.drawing(model)(n, condition=...), which cycles the classes of a "
        "label-conditional model itself",
        since="1.5",
        removed_in="2.0",
    )
    kind = getattr(model, "conditioning", None)
    if kind is None:
        return n, None
    if kind == "label":
        return n, cycled_labels(n, num_classes, device=images.device) if num_classes else None
    from .model import Batch

    n = min(n, images.shape[0])
    raw = Batch(x=images[:n], y=None if labels is None else labels[:n])
    return n, model.prepare_batch(raw, generator=generator).condition
