"""Which registered sampler draws from a model: the named one or the model's default, if it applies.

:func:`drawing` picks the sampler and returns a :class:`genkit.sampling.Drawing`, which
checks the options, the condition and the images; ``genkit sample``, the training-time
grids and the sample-quality metrics all draw through one, so a model that can sample (a
latent model through the ``prior`` sampler, any other through the sampler it names as its
``default_sampler``) is served the same way everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from .deprecation import warn as warn_deprecated
from .errors import CapabilityError, GenkitError
from .plugins import get_plugin_manager
from .sampling import CANNOT_SAMPLE, Drawing, Sampler, checked_options, default_sampler_name, sampler_options
from .sampling import check_images as check_images  # its home before the one drawing path

_HOW_TO_SAMPLE = (
    "a model samples through a registered sampler: a latent model through 'prior', any other "
    "through the sampler its plugin registers and names as the model's default_sampler (docs/plugins.md, Samplers)"
)


def drawing(
    model, *, model_name: str | None = None, sampler: str | None = None, options: dict[str, Any] | None = None
) -> Drawing:
    """The sampler called ``sampler`` (default: the model's own), checked to apply to ``model``,
    bound to it with the user's ``options`` (``temperature``, ``steps``, ``guidance``; None: not given).

    ``model_name`` is the model's registered name: a sampler whose ``SamplerSpec`` names the
    models it draws is refused for any other before its code is imported.
    """
    chosen = sampler or default_sampler_name(model)
    named = f"'{model_name}'" if model_name else "this model"
    if chosen is None:
        raise CapabilityError(f"{named} cannot sample: {CANNOT_SAMPLE}; {_HOW_TO_SAMPLE}")
    manager = get_plugin_manager()
    reason = _not_for(chosen, model_name)
    method = None
    if reason is None:
        method = manager.sampler(chosen)
        reason = _reason(method, model)
    if reason:
        others = ", ".join(applicable_samplers(model, model_name)) or "none"
        raise CapabilityError(f"sampler '{chosen}' does not apply to {named}: {reason} (samplers that apply: {others})")
    return Drawing(model, method, chosen, options, model_name=model_name, owner=_owner(chosen))


def applicable_samplers(model, model_name: str | None = None) -> list[str]:
    """Names of the registered samplers that can draw from ``model``."""
    manager = get_plugin_manager()
    names = []
    for name in manager.registries["samplers"].names():
        if _not_for(name, model_name):
            continue  # declared for other models: not even imported
        try:
            sampler = manager.sampler(name)
        except GenkitError:
            continue  # a sampler that cannot be loaded applies to nothing
        if _reason(sampler, model) is None:
            names.append(name)
    return names


def _not_for(name: str, model_name: str | None) -> str | None:
    """Why a sampler that names the models it draws (``SamplerSpec.models``) is not for this one."""
    models = get_plugin_manager().sampler_models(name)
    if not models or model_name is None or model_name in models:
        return None
    return f"it draws {' and '.join(models)} models only"


def _reason(sampler: Sampler, model) -> str | None:
    check = getattr(sampler, "unsupported_reason", None)
    return check(model) if callable(check) else None


def _owner(sampler: str) -> str | None:
    try:
        return get_plugin_manager().registries["samplers"].owner(sampler).package
    except GenkitError:
        return None


def draw(
    model,
    n: int,
    *,
    sampler: str | None = None,
    condition: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
    options: dict[str, Any] | None = None,
    progress: Callable[[int, int], None] | None = None,
    model_name: str | None = None,
) -> torch.Tensor:
    """Deprecated: ``drawing(model, model_name=..., sampler=..., options=...)(n, condition=..., ...)``."""
    warn_deprecated(
        "genkit.drawing.draw(model, n, ...)",
        "call genkit.drawing.drawing(model, sampler=..., options=...)(n, condition=..., generator=...)",
        since="1.5",
        removed_in="2.0",
    )
    made = drawing(model, model_name=model_name, sampler=sampler, options=options)
    return made(n, condition=condition, generator=generator, progress=progress)


def choose_sampler(model, name: str | None = None, model_name: str = "this model") -> tuple[str, Sampler]:
    """Deprecated: :func:`drawing` (``.name``, ``.sampler``)."""
    warn_deprecated(
        "genkit.drawing.choose_sampler",
        "call genkit.drawing.drawing(model, sampler=name) and read its .name and .sampler",
        since="1.5",
        removed_in="2.0",
    )
    made = drawing(model, model_name=None if model_name == "this model" else model_name, sampler=name)
    return made.name, made.sampler


def check_options(name: str, sampler: Sampler, options: dict[str, Any]) -> dict[str, Any]:
    """Deprecated: :func:`drawing` checks the options it is given."""
    warn_deprecated(
        "genkit.drawing.check_options",
        "pass options to genkit.drawing.drawing(model, sampler=name, options=...), which checks them",
        since="1.5",
        removed_in="2.0",
    )
    return checked_options(name, sampler_options(sampler), options)
