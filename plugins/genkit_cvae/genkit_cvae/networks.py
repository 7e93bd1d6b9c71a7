"""The MLP both models of this plugin are made of: torchvision's ``MLP``."""

from __future__ import annotations

import re

from torch import nn
from torchvision.ops import MLP


def mlp(inputs: int, hidden: int, outputs: int, layers: int, activation: str) -> nn.Module:
    """``layers`` hidden layers of width ``hidden`` between ``inputs`` and ``outputs``."""
    act = nn.ReLU if activation == "relu" else nn.Tanh
    net = MLP(inputs, [hidden] * layers + [outputs], activation_layer=act, dropout=0.0)
    net.register_load_state_dict_pre_hook(_renumber_sequential_weights)
    return net


_INDEX = re.compile(r"(\d+)\.(weight|bias)$")


def _renumber_sequential_weights(module, state_dict, prefix, *args) -> None:
    """Load weights saved before the MLP was torchvision's.

    They came from an ``nn.Sequential`` of Linear and activation, so the i-th
    Linear was at index 2i; ``MLP`` puts a (no-op, p = 0) Dropout after every
    activation, so it is at 3i. Only the old layout has Linear weights at an
    index that is not a multiple of 3 (index 2 always exists).
    """
    mine = {k: _INDEX.match(k[len(prefix) :]) for k in state_dict if k.startswith(prefix)}
    if not any(m and int(m[1]) % 3 for m in mine.values()):
        return
    for key, m in mine.items():
        if m:
            state_dict[f"{prefix}{3 * (int(m[1]) // 2)}.{m[2]}"] = state_dict.pop(key)
