"""Small rules of the training loop, kept apart so they can be read and tested alone."""

from __future__ import annotations

import math
from typing import Any

import torch

from ..errors import GenkitError


def has_graph(value: Any) -> bool:
    """Whether a carry holds a tensor that gradients flow through."""
    if isinstance(value, torch.Tensor):
        return value.requires_grad
    if isinstance(value, (list, tuple)):
        return any(has_graph(v) for v in value)
    if isinstance(value, dict):
        return any(has_graph(v) for v in value.values())
    return False


def check_loss_terms(logged: list[dict[str, torch.Tensor]], model: str) -> None:
    """Refuse, naming the term, an objective's logged term that is not a scalar tensor."""
    for terms in logged:
        for name, value in terms.items():
            if not isinstance(value, torch.Tensor) or value.numel() != 1:
                what = (
                    f"a tensor of shape {list(value.shape)}"
                    if isinstance(value, torch.Tensor)
                    else type(value).__name__
                )
                raise GenkitError(
                    f"model '{model}': loss term '{name}' must be a scalar tensor (a batch mean), got {what}"
                )


def steps_per_epoch(n: int, batch_size: int, world_size: int) -> int:
    """Steps in an epoch of ``n`` images; with several ranks, a last batch too small
    to give every rank an image is dropped (every rank drops it alike)."""
    steps = math.ceil(n / batch_size)
    last = n - (steps - 1) * batch_size
    return steps - 1 if world_size > 1 and last < world_size else steps
