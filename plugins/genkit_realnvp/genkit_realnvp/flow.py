"""The multi-scale flow: a bijection from (logit-space) images to latents of the same shape.

Scale k squeezes 2x2, applies its steps and, unless it is the last, factors out
half of the channels: they are final latents, and the other half goes on to
scale k+1. Latents are reassembled into the image's shape (the inverse of the
squeezes and splits), so ``z`` has the data's shape and one standard normal
prior covers all of it.
"""

from __future__ import annotations

import torch
from torch import nn

from .config import RealNVPConfig
from .layers import ActNorm, AffineCoupling, InvConv1x1, channel_partition, checkerboard_partition, squeeze, unsqueeze


def build_steps(channels: int, cfg: RealNVPConfig) -> list[nn.Module]:
    """The invertible layers of one scale, acting on ``channels`` squeezed channels."""

    def coupling(partition):
        return AffineCoupling(*partition, hidden=cfg.hidden, res_blocks=cfg.res_blocks, bound=cfg.log_scale_bound)

    layers: list[nn.Module] = []
    if cfg.step == "glow":
        for _ in range(cfg.glow_steps):
            layers += [ActNorm(channels), InvConv1x1(channels), coupling(channel_partition(channels, 0))]
    else:
        for i in range(cfg.checkerboard_couplings):
            layers += [ActNorm(channels), coupling(checkerboard_partition(channels, i % 2))]
        for i in range(cfg.channel_couplings):
            layers += [ActNorm(channels), coupling(channel_partition(channels, i % 2))]
    return layers


class MultiScaleFlow(nn.Module):
    """Args:
    shape: (C, H, W) of the input; H and W must be divisible by 2**levels.
    cfg: the model settings.
    """

    def __init__(self, shape: tuple[int, int, int], cfg: RealNVPConfig):
        super().__init__()
        c, h, w = shape
        if h % (2**cfg.levels) or w % (2**cfg.levels):
            raise ValueError(f"images of {h}x{w} cannot be squeezed {cfg.levels} times (each halves height and width)")
        self.scales = nn.ModuleList()
        for _ in range(cfg.levels):
            c = 4 * c
            self.scales.append(nn.ModuleList(build_steps(c, cfg)))
            c = c // 2  # the half that goes on to the next scale

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x -> (z of x's shape, log|det dz/dx| per example)."""
        return self._forward_from(0, x)

    def inverse(self, z: torch.Tensor) -> torch.Tensor:
        return self._inverse_from(0, z)

    def _forward_from(self, k: int, x):
        h = squeeze(x)
        logdet = torch.zeros(x.shape[0], device=x.device, dtype=x.dtype)
        for layer in self.scales[k]:
            h, ld = layer(h)
            logdet = logdet + ld
        if k + 1 < len(self.scales):
            half = h.shape[1] // 2
            out, rest = h[:, :half], h[:, half:]
            rest, ld = self._forward_from(k + 1, rest)
            h, logdet = torch.cat([out, rest], 1), logdet + ld
        return unsqueeze(h), logdet

    def _inverse_from(self, k: int, z):
        h = squeeze(z)
        if k + 1 < len(self.scales):
            half = h.shape[1] // 2
            h = torch.cat([h[:, :half], self._inverse_from(k + 1, h[:, half:])], 1)
        for layer in reversed(self.scales[k]):
            h = layer.inverse(h)
        return unsqueeze(h)

    def actnorms(self) -> list[ActNorm]:
        return [m for m in self.modules() if isinstance(m, ActNorm)]
