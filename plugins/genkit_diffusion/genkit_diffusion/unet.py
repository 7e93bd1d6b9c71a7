"""A small U-Net: sinusoidal time embedding, residual blocks, optional label embedding
and self-attention at the lowest resolution (after Ho et al. 2020, much narrower)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10_000.0) -> torch.Tensor:
    """Sinusoidal features of (possibly fractional) times ``t`` [B] -> [B, dim]."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    args = t.float()[:, None] * freqs[None]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=1)
    return F.pad(emb, (0, dim % 2))


def _norm(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(min(8, channels), channels)


class ResBlock(nn.Module):
    def __init__(self, cin: int, cout: int, emb_dim: int, dropout: float):
        super().__init__()
        self.norm1, self.conv1 = _norm(cin), nn.Conv2d(cin, cout, 3, padding=1)
        self.emb = nn.Linear(emb_dim, cout)
        self.norm2, self.conv2 = _norm(cout), nn.Conv2d(cout, cout, 3, padding=1)
        self.dropout = nn.Dropout(dropout)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()
        nn.init.zeros_(self.conv2.weight)  # each block starts as the identity
        nn.init.zeros_(self.conv2.bias)

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.emb(emb)[:, :, None, None]
        h = self.conv2(self.dropout(F.silu(self.norm2(h))))
        return self.skip(x) + h


class SelfAttention(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.norm = _norm(channels)
        self.qkv = nn.Conv2d(channels, 3 * channels, 1)
        self.out = nn.Conv2d(channels, channels, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        q, k, v = self.qkv(self.norm(x)).flatten(2).transpose(1, 2).chunk(3, dim=2)
        attended = F.scaled_dot_product_attention(q, k, v)
        return x + self.out(attended.transpose(1, 2).reshape(b, c, h, w))


class Level(nn.Module):
    """The residual blocks of one resolution (and, at the lowest, attention)."""

    def __init__(self, cin: int, cout: int, count: int, emb_dim: int, dropout: float, attention: bool):
        super().__init__()
        self.blocks = nn.ModuleList(ResBlock(cin if i == 0 else cout, cout, emb_dim, dropout) for i in range(count))
        self.attention = SelfAttention(cout) if attention else None

    def forward(self, h: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            h = block(h, emb)
        return self.attention(h) if self.attention is not None else h


class UNet(nn.Module):
    """``net(x, t, labels)``: images [B, C, H, W], times [B] on a 0..1000 scale, labels [B]
    (``num_classes`` is the null label of classifier-free guidance) -> a prediction of x's shape."""

    def __init__(
        self,
        image_channels: int,
        channels: int,
        mults: tuple[int, ...],
        res_blocks: int,
        attention: bool,
        dropout: float,
        num_classes: int | None = None,
    ):
        super().__init__()
        emb_dim = 4 * channels
        self.channels = channels
        self.time = nn.Sequential(nn.Linear(channels, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        self.labels = nn.Embedding(num_classes + 1, emb_dim) if num_classes else None
        self.inp = nn.Conv2d(image_channels, channels, 3, padding=1)
        widths = [channels * m for m in mults]
        last = len(widths) - 1
        self.down = nn.ModuleList()
        self.downsample = nn.ModuleList()
        previous = channels
        for i, width in enumerate(widths):
            self.down.append(Level(previous, width, res_blocks, emb_dim, dropout, attention=False))
            self.downsample.append(nn.Conv2d(width, width, 3, stride=2, padding=1) if i < last else nn.Identity())
            previous = width
        self.mid = Level(previous, previous, 2, emb_dim, dropout, attention=attention)
        self.up = nn.ModuleList()
        self.upsample = nn.ModuleList()
        for i, width in reversed(list(enumerate(widths))):
            self.up.append(Level(previous + width, width, res_blocks, emb_dim, dropout, attention=False))
            self.upsample.append(nn.Conv2d(width, widths[i - 1], 3, padding=1) if i > 0 else nn.Identity())
            previous = widths[i - 1] if i > 0 else width
        self.out_norm = _norm(previous)
        self.out = nn.Conv2d(previous, image_channels, 3, padding=1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor, t: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        emb = self.time(timestep_embedding(t, self.channels))
        if self.labels is not None:
            if labels is None:
                labels = torch.full((x.shape[0],), self.labels.num_embeddings - 1, device=x.device, dtype=torch.long)
            emb = emb + self.labels(labels)
        h = self.inp(x)
        skips = []
        for level, down in zip(self.down, self.downsample):
            h = level(h, emb)
            skips.append(h)
            h = down(h)
        h = self.mid(h, emb)
        for level, up in zip(self.up, self.upsample):
            skip = skips.pop()
            h = level(torch.cat([h, skip], dim=1), emb)
            if not isinstance(up, nn.Identity):
                h = up(F.interpolate(h, size=skips[-1].shape[-2:], mode="nearest"))
        return self.out(F.silu(self.out_norm(h)))
