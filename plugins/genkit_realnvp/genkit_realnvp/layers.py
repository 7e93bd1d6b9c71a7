"""Invertible layers on image tensors ``[B, C, H, W]``.

Every layer maps ``forward(x) -> (y, logdet)`` with ``logdet`` the per-example
log |det dy/dx| ``[B]``, and ``inverse(y) -> x``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def squeeze(x: torch.Tensor) -> torch.Tensor:
    """[B, C, H, W] -> [B, 4C, H/2, W/2]; channel c*4 + 2*dy + dx holds pixel (2i+dy, 2j+dx)."""
    return F.pixel_unshuffle(x, 2)


def unsqueeze(x: torch.Tensor) -> torch.Tensor:
    return F.pixel_shuffle(x, 2)


class ActNorm(nn.Module):
    """Per-channel affine y = (x + bias) * exp(log_scale), initialised from data so that
    the first batch comes out with zero mean and unit variance per channel."""

    def __init__(self, channels: int):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.log_scale = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.init_pending = False  # set by the model for the one data-dependent pass

    @torch.no_grad()
    def _initialise(self, x: torch.Tensor) -> None:
        mean = x.mean(dim=(0, 2, 3), keepdim=True)
        std = x.std(dim=(0, 2, 3), keepdim=True)
        self.bias.copy_(-mean)
        self.log_scale.copy_(-torch.log(std + 1e-6))
        self.init_pending = False

    def forward(self, x):
        if self.init_pending:
            self._initialise(x)
        y = (x + self.bias) * torch.exp(self.log_scale)
        logdet = self.log_scale.sum() * (x.shape[2] * x.shape[3])
        return y, logdet.expand(x.shape[0])

    def inverse(self, y):
        return y * torch.exp(-self.log_scale) - self.bias


class InvConv1x1(nn.Module):
    """Glow's invertible 1x1 convolution with W = P L (U + diag(sign * exp(log_s))):
    the log-determinant is H * W * sum(log_s), O(C) instead of O(C^3)."""

    def __init__(self, channels: int):
        super().__init__()
        q, _ = torch.linalg.qr(torch.randn(channels, channels))  # random rotation
        p, lower, upper = torch.linalg.lu(q)
        s = torch.diagonal(upper)
        self.register_buffer("perm", p)
        self.register_buffer("sign_s", torch.sign(s))
        self.register_buffer("lower_mask", torch.tril(torch.ones(channels, channels), -1), persistent=False)
        self.register_buffer("eye", torch.eye(channels), persistent=False)
        self.lower = nn.Parameter(lower)
        self.upper = nn.Parameter(torch.triu(upper, 1))
        self.log_s = nn.Parameter(torch.log(s.abs()))

    def weight(self) -> torch.Tensor:
        lower = self.lower * self.lower_mask + self.eye
        upper = self.upper * self.lower_mask.T + torch.diag(self.sign_s * torch.exp(self.log_s))
        return self.perm @ lower @ upper

    def forward(self, x):
        c = x.shape[1]
        y = F.conv2d(x, self.weight().view(c, c, 1, 1))
        logdet = self.log_s.sum() * (x.shape[2] * x.shape[3])
        return y, logdet.expand(x.shape[0])

    def inverse(self, y):
        c = y.shape[1]
        w_inv = torch.linalg.inv(self.weight().double()).float()
        return F.conv2d(y, w_inv.view(c, c, 1, 1))


class CouplingNet(nn.Module):
    """A small residual convolutional network giving (log-scale, translation) of a coupling."""

    def __init__(self, in_channels: int, out_channels: int, hidden: int, res_blocks: int):
        super().__init__()
        self.inp = nn.Conv2d(in_channels, hidden, 3, padding=1)
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.ReLU(), nn.Conv2d(hidden, hidden, 3, padding=1), nn.ReLU(), nn.Conv2d(hidden, hidden, 1))
            for _ in range(res_blocks)
        )
        self.out = nn.Conv2d(hidden, 2 * out_channels, 3, padding=1)
        # Zero output: every coupling starts as the identity, so the untrained flow is
        # actnorm and the fixed permutations only, which keeps early training stable.
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x):
        h = self.inp(x)
        for block in self.blocks:
            h = h + block(h)
        return self.out(F.relu(h)).chunk(2, dim=1)


class AffineCoupling(nn.Module):
    """y_b = x_b * exp(s(x_a)) + t(x_a), y_a = x_a, for a partition (a, b) of the channels.

    A checkerboard mask on the full-resolution image is a partition of the
    channels after a 2x2 squeeze ({0, 3} against {1, 2} in each group of four), so
    every coupling runs its network at the squeezed resolution, four times cheaper
    than masking the full image.

    Args:
        cond: channel indices x_a the network sees.
        trans: channel indices x_b that are transformed.
    """

    def __init__(self, cond: list[int], trans: list[int], hidden: int, res_blocks: int, bound: float):
        super().__init__()
        order = cond + trans
        self.register_buffer("cond", torch.tensor(cond), persistent=False)
        self.register_buffer("trans", torch.tensor(trans), persistent=False)
        self.register_buffer("restore", torch.argsort(torch.tensor(order)), persistent=False)
        self.net = CouplingNet(len(cond), len(trans), hidden, res_blocks)
        self.bound = bound

    def _scale_shift(self, xa):
        raw_s, t = self.net(xa)
        return self.bound * torch.tanh(raw_s / self.bound), t

    def forward(self, x):
        xa, xb = x.index_select(1, self.cond), x.index_select(1, self.trans)
        s, t = self._scale_shift(xa)
        yb = xb * torch.exp(s) + t
        return torch.cat([xa, yb], 1).index_select(1, self.restore), s.flatten(1).sum(1)

    def inverse(self, y):
        ya, yb = y.index_select(1, self.cond), y.index_select(1, self.trans)
        s, t = self._scale_shift(ya)
        xb = (yb - t) * torch.exp(-s)
        return torch.cat([ya, xb], 1).index_select(1, self.restore)


def checkerboard_partition(channels: int, parity: int) -> tuple[list[int], list[int]]:
    """Squeezed channels of pixels with (dy + dx) even (parity 0) against odd, for a
    tensor squeezed from ``channels // 4`` channels."""
    even = [c * 4 + o for c in range(channels // 4) for o in (0, 3)]
    odd = [c * 4 + o for c in range(channels // 4) for o in (1, 2)]
    return (even, odd) if parity == 0 else (odd, even)


def channel_partition(channels: int, parity: int) -> tuple[list[int], list[int]]:
    """First half of the channels against the second half."""
    first, second = list(range(channels // 2)), list(range(channels // 2, channels))
    return (first, second) if parity == 0 else (second, first)
