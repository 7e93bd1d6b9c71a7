"""The convolutional encoder and its mirrored decoder.

Both work on images padded to a multiple of 8 pixels (1x32x32 for 28x28 data):
three stride-2 convolutions halve the side three times.
"""

from __future__ import annotations

import torch
from torch import nn


def _down(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 5, stride=2, padding=2, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]


def _up(cin: int, cout: int) -> list[nn.Module]:
    return [
        nn.ConvTranspose2d(cin, cout, 5, stride=2, padding=2, output_padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(),
    ]


class ConvEncoder(nn.Module):
    """Image ``[B, C, S, S]`` -> (mu_z, log sigma_z^2), each ``[B, latent_dim]``.

    Args:
        channels: image channels.
        side: padded image side (a multiple of 8).
        width: channels of the first convolution (then 2x and 4x).
        kappa: width of the fully connected feature the convolutions are flattened into.
        latent_dim: size of z.
    """

    def __init__(self, channels: int, side: int, width: int, kappa: int, latent_dim: int):
        super().__init__()
        c1, c2, c3 = width, 2 * width, 4 * width
        self.convs = nn.Sequential(*_down(channels, c1), *_down(c1, c2), *_down(c2, c3), nn.Flatten())
        self.feature = nn.Sequential(nn.Linear(c3 * (side // 8) ** 2, kappa), nn.ReLU())
        self.mu = nn.Linear(kappa, latent_dim)
        self.logvar = nn.Linear(kappa, latent_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.feature(self.convs(x))
        return self.mu(h), self.logvar(h)


class ConvDecoder(nn.Module):
    """z ``[B, latent_dim]`` -> mean image ``[B, C, S, S]`` in (0, 1); the encoder mirrored."""

    def __init__(self, channels: int, side: int, width: int, kappa: int, latent_dim: int):
        super().__init__()
        c1, c2, c3 = width, 2 * width, 4 * width
        self.start = (c3, side // 8, side // 8)
        self.fc = nn.Sequential(
            nn.Linear(latent_dim, kappa), nn.ReLU(), nn.Linear(kappa, c3 * (side // 8) ** 2), nn.ReLU()
        )
        self.deconvs = nn.Sequential(
            *_up(c3, c2),
            *_up(c2, c1),
            nn.ConvTranspose2d(c1, channels, 5, stride=2, padding=2, output_padding=1),
            nn.Sigmoid(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.deconvs(self.fc(z).view(-1, *self.start))
