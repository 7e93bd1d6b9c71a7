"""The registered metrics at work: which apply to a model, a model's defaults, running one, and
the classifier a dataset has.

``genkit score``, ``score --ood`` and ``genkit explore`` run every evaluator through
:func:`evaluate`: one :class:`genkit.EvalContext` built one way (the batch-size rule lives
here: :func:`batch_size_for`), under an RNG seeded from ``--seed`` and isolated from the caller's, and the result
checked against the contract before anything is shown or kept.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import torch

from .errors import CapabilityError, GenkitError, PluginError
from .evaluation import EvalContext, EvalResult, Evaluator, ImageClassifier, likelihood_samples
from .plugins import get_plugin_manager
from .rng import isolated_rng


def applicable_metrics(model) -> list[str]:
    """Names of the registered metrics that apply to ``model`` (a metric that fails to load applies to nothing)."""
    pm = get_plugin_manager()
    names = []
    for name in pm.registries["evaluators"].names():
        try:
            if pm.evaluator(name).unsupported_reason(model) is None:
                names.append(name)
        except GenkitError:
            continue
    return names


def evaluator_for(name: str, model, model_name: str) -> Evaluator:
    """The metric called ``name``, refused in one line when it is unknown or does not apply to ``model``."""
    try:
        evaluator = get_plugin_manager().evaluator(name)
    except PluginError:
        raise PluginError(
            f"unknown metric '{name}' (metrics for '{model_name}': {', '.join(applicable_metrics(model)) or 'none'})"
        ) from None
    reason = evaluator.unsupported_reason(model)
    if reason:
        raise CapabilityError(
            f"metric '{name}' does not apply to '{model_name}': {reason}; metrics that apply: "
            f"{', '.join(applicable_metrics(model)) or 'none'}"
        )
    return evaluator


def default_metrics(name: str, spec, model, messages: list[str]) -> list[str]:
    """The model's default metrics that are installed and apply to it; when some are not (their
    plugin is absent), what does apply, with one line in ``messages`` saying so."""
    applicable = set(applicable_metrics(model))
    defaults = list(spec.default_metrics)
    usable = [n for n in defaults if n in applicable]
    if defaults and usable == defaults:
        return defaults
    fallback = usable or applicable_metrics(model)
    if not defaults:
        return fallback
    absent = [n for n in defaults if n not in usable]
    needs = _declared_plugins(name)
    where = f"; {needs} provides them: is it installed and enabled?" if needs else "."
    if not fallback:
        raise CapabilityError(
            f"no installed metric applies to '{name}': its default metrics {', '.join(absent)} are not "
            f"available{where.rstrip('.')}"
        )
    messages.append(
        f"note: default metrics {', '.join(absent)} of '{name}' are not available{where} Scoring with "
        f"{', '.join(fallback)}."
    )
    return fallback


def _declared_plugins(model_name: str) -> str:
    """The genkit plugins the model's distribution declares it needs, as text (empty if none)."""
    from importlib import metadata

    try:
        package = get_plugin_manager().registries["models"].owner(model_name).package
        requires = metadata.requires(package) or []
    except Exception:  # a plugin registered in-process has no distribution metadata
        return ""
    names = [re.split(r"[\s;<>=!~\[(]", r, maxsplit=1)[0] for r in requires]
    return " or ".join(n for n in names if n.startswith("genkit-"))


def batch_size_for(model, samples: int | None = None, given: int | None = None) -> int:
    """Examples per forward pass: ``given`` (``--batch-size``), else 100 where each image takes
    several likelihood samples (memory grows with them) and 500 where it takes one."""
    return given or (100 if likelihood_samples(model, samples) > 1 else 500)


def evaluate(
    evaluator: Evaluator,
    model,
    x: torch.Tensor,
    y: torch.Tensor | None,
    *,
    dataset: str,
    seed: int = 0,
    samples: int | None = None,
    batch_size: int | None = None,
    limit: int | None = None,
    sampler: Callable[..., torch.Tensor] | None = None,
    sampler_name: str | None = None,
    advance: Callable[[int], None] | None = None,
    **context: Any,
) -> EvalResult:
    """One metric of ``model`` on the images ``x`` (labels ``y``), checked: the one way genkit runs
    an evaluator. Latent noise and importance samples come from an RNG seeded by ``seed`` and
    isolated from the caller's, so the figures repeat. ``context``: the other
    :class:`genkit.EvalContext` fields (``reference``, ``data_dir``)."""
    ctx = EvalContext(
        model=model,
        x=x,
        y=y,
        dataset=dataset,
        batch_size=batch_size_for(model, samples, batch_size),
        samples=samples,
        seed=seed,
        advance=advance or (lambda n: None),
        sampler=sampler,
        sampler_name=sampler_name,
        limit=limit,
        **context,
    )
    with isolated_rng(x.device, seed):
        return checked_result(evaluator.evaluate(ctx), evaluator.name)


def checked_result(result: Any, metric: str) -> EvalResult:
    """An evaluator's result, refused with one line (naming the plugin) when it breaks the contract."""
    owner = _owner_of(metric)
    if not isinstance(result, EvalResult):
        raise PluginError(
            f"metric '{metric}'{owner} returned {type(result).__name__}; evaluate() must return genkit.EvalResult"
        )
    if not isinstance(result.metrics, dict) or not all(
        isinstance(k, str) and isinstance(v, (int, float)) and not isinstance(v, bool)
        for k, v in result.metrics.items()
    ):
        raise PluginError(
            f"metric '{metric}'{owner}: EvalResult.metrics must map names (str) to numbers (int or float)"
        )
    if not isinstance(result.per_example, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in result.per_example.items()
    ):
        raise PluginError(f"metric '{metric}'{owner}: EvalResult.per_example must map names (str) to tensors")
    if not isinstance(result.notes, (list, tuple)) or not all(isinstance(n, str) for n in result.notes):
        raise PluginError(
            f"metric '{metric}'{owner}: EvalResult.notes must be a list of strings (got {type(result.notes).__name__})"
        )
    if not isinstance(result.details, dict) or not all(
        isinstance(k, str) and (v is None or isinstance(v, (str, int, float, bool))) for k, v in result.details.items()
    ):
        raise PluginError(
            f"metric '{metric}'{owner}: EvalResult.details must map names (str) to strings, numbers, booleans or None"
        )
    return result


def _owner_of(metric: str) -> str:
    try:
        return f" (from {get_plugin_manager().registries['evaluators'].owner(metric).package})"
    except GenkitError:
        return ""


def find_classifier(dataset: str) -> ImageClassifier | None:
    """A registered evaluator that can classify images of ``dataset`` (a :class:`genkit.ImageClassifier`), or None."""
    manager = get_plugin_manager()
    for name in manager.registries["evaluators"].names():
        try:
            evaluator = manager.evaluator(name)
        except PluginError:
            continue  # a metric that cannot be loaded classifies nothing
        if isinstance(evaluator, ImageClassifier) and evaluator.can_classify(dataset):
            return evaluator
    return None
