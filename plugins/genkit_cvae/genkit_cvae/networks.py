"""The MLP both models of this plugin are made of."""

from __future__ import annotations

from torch import nn


def mlp(inputs: int, hidden: int, outputs: int, layers: int, activation: str) -> nn.Sequential:
    """``layers`` hidden layers of width ``hidden`` between ``inputs`` and ``outputs``."""
    act = nn.ReLU if activation == "relu" else nn.Tanh
    parts: list[nn.Module] = []
    width = inputs
    for _ in range(layers):
        parts += [nn.Linear(width, hidden), act()]
        width = hidden
    parts.append(nn.Linear(width, outputs))
    return nn.Sequential(*parts)
