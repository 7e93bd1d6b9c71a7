"""An exponential moving average of a network's weights, kept as a frozen copy
(a submodule, so it is saved in and restored from the safetensors checkpoint)."""

from __future__ import annotations

import copy

import torch
from torch import nn


class EMA(nn.Module):
    def __init__(self, net: nn.Module, decay: float):
        super().__init__()
        self.decay = decay
        self.net = copy.deepcopy(net).requires_grad_(False)
        self.register_buffer("updates", torch.zeros((), dtype=torch.int64))
        self._count: int | None = None  # a host copy of ``updates``, read once, so steps never sync

    @torch.no_grad()
    def reset(self, net: nn.Module) -> None:
        for mine, theirs in zip(self.net.state_dict().values(), net.state_dict().values()):
            mine.copy_(theirs)
        self.updates.zero_()
        self._count = 0

    @torch.no_grad()
    def update(self, net: nn.Module) -> None:
        """Move the average towards ``net`` (after each optimizer step: the model's
        ``after_step``, which runs eagerly, outside torch.compile); the decay is warmed up
        over the first updates so that a short run's average is not dominated by the
        initial weights. The step count lives on the host, read once, so updates never sync."""
        if self._count is None:
            self._count = int(self.updates)  # after a resume, the loaded value
        n = self._count
        decay = min(self.decay, (1 + n) / (10 + n))
        mine = [p for p in self.net.parameters()]
        theirs = [p.detach() for p in net.parameters()]
        torch._foreach_lerp_(mine, theirs, 1 - decay)
        for a, b in zip(self.net.buffers(), net.buffers()):
            a.copy_(b)
        self.updates += 1
        self._count += 1
