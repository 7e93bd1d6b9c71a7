"""Drawing images from a model through a registered sampler: which sampler, which options, checked output.

``genkit sample``, the training-time sample grids and the sample-quality
metrics all draw through :func:`draw`, so a model that can sample (a latent
model through the ``prior`` sampler, any other through the sampler it names as
its ``default_sampler``) is served the same way everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from .errors import CapabilityError, GenkitError, PluginError
from .plugins import get_plugin_manager
from .sampling import Sampler, default_sampler_name, sampler_options

_HOW_TO_SAMPLE = (
    "a model samples through a registered sampler: a latent model through 'prior', any other "
    "through the sampler its plugin registers and names as the model's default_sampler (docs/plugins.md, Samplers)"
)


def applicable_samplers(model) -> list[str]:
    """Names of the registered samplers that can draw from ``model``."""
    pm = get_plugin_manager()
    names = []
    for name in pm.registries["samplers"].names():
        try:
            sampler = pm.sampler(name)
        except GenkitError:
            continue  # a sampler that cannot be loaded applies to nothing
        if _reason(sampler, model) is None:
            names.append(name)
    return names


def choose_sampler(model, name: str | None = None, model_name: str = "this model") -> tuple[str, Sampler]:
    """The sampler called ``name`` (default: the model's), checked to apply to ``model``."""
    chosen = name or default_sampler_name(model)
    if chosen is None:
        raise CapabilityError(
            f"'{model_name}' cannot sample: it has no latent space and names no default sampler; {_HOW_TO_SAMPLE}"
        )
    sampler = get_plugin_manager().sampler(chosen)
    reason = _reason(sampler, model)
    if reason:
        others = ", ".join(applicable_samplers(model)) or "none"
        raise CapabilityError(
            f"sampler '{chosen}' does not apply to '{model_name}': {reason} (samplers that apply: {others})"
        )
    return chosen, sampler


def check_options(name: str, sampler: Sampler, options: dict[str, Any]) -> dict[str, Any]:
    """The user's sampling options that were given, refused where the sampler takes none of them."""
    given = {k: v for k, v in options.items() if v is not None}
    accepted = sampler_options(sampler)
    for key in given:
        if key not in accepted:
            takes = ", ".join(f"--{k}" for k in ("temperature", "steps", "guidance") if k in accepted) or "no options"
            raise CapabilityError(f"--{key} does not apply to sampler '{name}' (it takes {takes})")
    if given.get("steps") is not None and int(given["steps"]) < 1:
        raise GenkitError(f"--steps must be at least 1 (got {given['steps']})")
    if given.get("temperature") is not None and float(given["temperature"]) < 0:
        raise GenkitError(f"--temperature must not be negative (got {given['temperature']})")
    return given


def draw(
    model,
    n: int,
    *,
    sampler: str | None = None,
    condition: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
    options: dict[str, Any] | None = None,
    progress: Callable[[int, int], None] | None = None,
    model_name: str = "this model",
) -> torch.Tensor:
    """``n`` images ``[n, C, H, W]`` in [0, 1] from ``model`` (eval mode, no gradients)."""
    name, method = choose_sampler(model, sampler, model_name)
    kwargs = check_options(name, method, options or {})
    accepted = sampler_options(method)
    for key, value in (("condition", condition), ("generator", generator), ("progress", progress)):
        if value is not None and key in accepted:
            kwargs[key] = value
    if condition is not None and "condition" not in accepted:
        raise CapabilityError(f"sampler '{name}' takes no condition, and '{model_name}' is conditional")
    with torch.no_grad():
        images = method.sample(model, n, **kwargs)
    check_images(images, n, tuple(model.data_info.shape), name)
    return images


def check_images(images: Any, n: int, shape: tuple[int, ...], sampler: str) -> None:
    """Refuse a sampler's output that is not ``n`` images of ``shape`` in [0, 1], before anything is drawn."""
    owner = _owner(sampler)
    if not isinstance(images, torch.Tensor):
        raise PluginError(f"sampler '{sampler}'{owner} returned {type(images).__name__}, not a tensor of images")
    if tuple(images.shape) != (n, *shape):
        raise PluginError(
            f"sampler '{sampler}'{owner} returned a tensor of shape {list(images.shape)}; expected {[n, *shape]}"
        )
    if not images.is_floating_point():
        raise PluginError(f"sampler '{sampler}'{owner} returned {images.dtype} images; expected floats in [0, 1]")
    finite = torch.isfinite(images)
    if not bool(finite.all()):
        raise PluginError(f"sampler '{sampler}'{owner} returned non-finite values (NaN or inf)")
    low, high = float(images.min()), float(images.max())
    if low < -1e-3 or high > 1 + 1e-3:
        raise PluginError(
            f"sampler '{sampler}'{owner} returned values in [{low:.3g}, {high:.3g}]; images must be in [0, 1]"
        )


def _reason(sampler: Sampler, model) -> str | None:
    check = getattr(sampler, "unsupported_reason", None)
    return check(model) if callable(check) else None


def _owner(sampler: str) -> str:
    try:
        info = get_plugin_manager().registries["samplers"].owner(sampler)
    except GenkitError:
        return ""
    return f" (from {info.package})"
