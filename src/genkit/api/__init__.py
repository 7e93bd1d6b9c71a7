"""The Python API: everything the command line does, as plain functions."""

from __future__ import annotations

from typing import Any

from ..capabilities import capabilities
from ..drawing import applicable_samplers
from ..metrics import applicable_metrics
from ..plugins import get_plugin_manager
from ..runs import list_runs
from ..sampling import default_sampler_name
from .generation import Picture, draw_samples, interpolate, manifold, sample
from .loading import LoadedModel, load
from .scoring import OODReport, ScoreReport, score, score_ood
from .training import resolve_config, train


def info(target, device: str = "cpu") -> dict[str, Any]:
    """What a run or checkpoint holds: model, data, configs, progress, capabilities, scores."""
    lm = load(target, device)
    meta = lm.meta
    return {
        "model": lm.name,
        "run": str(lm.run.path),
        "checkpoint": str(lm.checkpoint),
        "data": meta["data"],
        "progress": meta.get("progress", {}),
        "interrupted": bool(meta.get("interrupted")),
        "capabilities": capabilities(lm.model),
        "metrics": applicable_metrics(lm.model),
        "samplers": {"default": default_sampler_name(lm.model), "apply": applicable_samplers(lm.model, lm.name)},
        "model_config": meta["model_config"],
        "train_config": meta["train_config"],
        "versions": meta.get("versions"),
        "details": lm.model.describe(),
        "scores": [s for s in lm.run.read_json("scores.json", []) if isinstance(s, dict)],
    }


def list_plugins() -> list[dict[str, Any]]:
    """The loaded plugins with what each provides and its status."""
    return [p.as_dict() for p in get_plugin_manager().plugins]


__all__ = [
    "LoadedModel",
    "OODReport",
    "Picture",
    "draw_samples",
    "ScoreReport",
    "info",
    "interpolate",
    "list_runs",
    "load",
    "manifold",
    "list_plugins",
    "resolve_config",
    "sample",
    "score",
    "score_ood",
    "train",
]
