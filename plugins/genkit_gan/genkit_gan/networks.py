"""The generator and discriminator networks: the classic MLP pair and a DCGAN-style pair.

Generators map latent codes to images in [-1, 1] (tanh); discriminators map
images in [-1, 1] to one logit per image (the sigmoid is folded into the loss).
Either pair can be wrapped to take a class label as well.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

SLOPE = 0.2  # LeakyReLU slope of both networks


class MLPGenerator(nn.Module):
    """z -> 128 -> 256 -> 512 -> 1024 -> pixels, LeakyReLU throughout, batch norm after
    every hidden layer but the first (normalising the first layer's output of a
    Gaussian input buys nothing), tanh output."""

    def __init__(self, latent_dim: int, shape: tuple[int, int, int], widths: tuple[int, ...] = (128, 256, 512, 1024)):
        super().__init__()
        layers: list[nn.Module] = []
        previous = latent_dim
        for i, width in enumerate(widths):
            layers.append(nn.Linear(previous, width))
            if i > 0:
                layers.append(nn.BatchNorm1d(width))
            layers.append(nn.LeakyReLU(SLOPE, inplace=True))
            previous = width
        layers += [nn.Linear(previous, math.prod(shape)), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.shape = shape

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(-1, *self.shape)


class MLPDiscriminator(nn.Module):
    """pixels -> 512 -> 256 -> 1 logit, LeakyReLU; no batch norm, so real and fake
    images can share one forward pass."""

    shares_batch = True

    def __init__(self, shape: tuple[int, int, int], widths: tuple[int, ...] = (512, 256)):
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        previous = math.prod(shape)
        for width in widths:
            layers += [nn.Linear(previous, width), nn.LeakyReLU(SLOPE, inplace=True)]
            previous = width
        layers.append(nn.Linear(previous, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(1)


class ConvGenerator(nn.Module):
    """DCGAN-style: z -> 2*ch x (H/4) x (W/4) -> transposed convolutions doubling the
    resolution twice, batch norm and ReLU between, tanh output."""

    def __init__(self, latent_dim: int, shape: tuple[int, int, int], channels: int = 64):
        super().__init__()
        c, h, w = shape
        if h % 4 or w % 4:
            raise ValueError(f"the convolutional GAN needs image sides divisible by 4, got {h}x{w}")
        self.start = (2 * channels, h // 4, w // 4)
        self.project = nn.Sequential(
            nn.Linear(latent_dim, math.prod(self.start)), nn.BatchNorm1d(math.prod(self.start)), nn.ReLU(inplace=True)
        )
        self.net = nn.Sequential(
            nn.ConvTranspose2d(2 * channels, channels, 4, stride=2, padding=1),
            nn.BatchNorm2d(channels),
            nn.ReLU(inplace=True),
            nn.ConvTranspose2d(channels, c, 4, stride=2, padding=1),
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(self.project(z).view(-1, *self.start))


class ConvDiscriminator(nn.Module):
    """DCGAN-style: strided convolutions halving the resolution twice, LeakyReLU, batch
    norm on the second; real and fake go through in separate passes, as batch norm
    statistics of a mixed batch would tell the two apart."""

    shares_batch = False

    def __init__(self, shape: tuple[int, int, int], channels: int = 64):
        super().__init__()
        c, h, w = shape
        self.net = nn.Sequential(
            nn.Conv2d(c, channels, 4, stride=2, padding=1),
            nn.LeakyReLU(SLOPE, inplace=True),
            nn.Conv2d(channels, 2 * channels, 4, stride=2, padding=1),
            nn.BatchNorm2d(2 * channels),
            nn.LeakyReLU(SLOPE, inplace=True),
            nn.Flatten(),
            nn.Linear(2 * channels * (h // 4) * (w // 4), 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(1)


class LabelConditionedGenerator(nn.Module):
    """G(z, y): a generator whose input is z joined with a learned embedding of the label
    (the conditional GAN of Mirza and Osindero 2014)."""

    def __init__(self, build: Callable[[int], nn.Module], latent_dim: int, num_classes: int, embedding_dim: int):
        super().__init__()
        self.embedding = nn.Embedding(num_classes, embedding_dim)
        self.net = build(latent_dim + embedding_dim)

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([z, self.embedding(labels)], 1))


class LabelConditionedDiscriminator(nn.Module):
    """D(x, y): the label's learned embedding drawn as one extra image plane beside the
    pixels, so the same wrapper serves the fully connected and the convolutional
    discriminator."""

    def __init__(
        self, build: Callable[[tuple[int, int, int]], nn.Module], shape: tuple[int, int, int], num_classes: int
    ):
        super().__init__()
        c, h, w = shape
        self.plane = (1, h, w)
        self.embedding = nn.Embedding(num_classes, h * w)
        self.net = build((c + 1, h, w))
        self.shares_batch = self.net.shares_batch

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([x, self.embedding(labels).view(-1, *self.plane)], 1))


def build_networks(
    architecture: str,
    latent_dim: int,
    shape: tuple[int, int, int],
    channels: int,
    num_classes: int | None = None,
    embedding_dim: int = 10,
) -> tuple[nn.Module, nn.Module]:
    """(generator, discriminator) of the named architecture; label-conditioned when
    ``num_classes`` is given, and then both networks take the labels as a second argument."""
    if architecture == "mlp":
        generator = lambda zdim: MLPGenerator(zdim, shape)  # noqa: E731
        discriminator = lambda dshape: MLPDiscriminator(dshape)  # noqa: E731
    else:
        generator = lambda zdim: ConvGenerator(zdim, shape, channels)  # noqa: E731
        discriminator = lambda dshape: ConvDiscriminator(dshape, channels)  # noqa: E731
    if num_classes is None:
        return generator(latent_dim), discriminator(shape)
    return LabelConditionedGenerator(generator, latent_dim, num_classes, embedding_dim), LabelConditionedDiscriminator(
        discriminator, shape, num_classes
    )
