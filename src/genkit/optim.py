"""Optimizers with the fastest implementation the device offers."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch


def adam(
    params: Iterable[torch.nn.Parameter] | Iterable[dict[str, Any]],
    lr: float,
    betas: tuple[float, float] = (0.9, 0.999),
    **kwargs,
) -> torch.optim.Adam:
    """Adam using the fused kernel where PyTorch has one for the parameters' device.

    ``params`` is what ``torch.optim.Adam`` takes: parameters, or parameter groups (dicts
    with ``params`` and their own options, e.g. ``lr``). The fused kernel updates every
    parameter in one pass; the default per-parameter loop is about a third of a small
    MLP's step on a CPU.
    """
    params = list(params)
    device = _first_device(params)
    if device in ("cpu", "cuda", "mps"):
        try:
            return torch.optim.Adam(params, lr=lr, betas=betas, fused=True, **kwargs)
        except (RuntimeError, TypeError, ValueError):  # an older torch without fused Adam on this device
            pass
    return torch.optim.Adam(params, lr=lr, betas=betas, **kwargs)


def _first_device(params: list) -> str:
    for item in params:
        tensors = item["params"] if isinstance(item, dict) else [item]
        tensors = [tensors] if isinstance(tensors, torch.Tensor) else list(tensors)
        if tensors:
            return tensors[0].device.type
    return "cpu"
