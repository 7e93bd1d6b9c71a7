"""The judge's network: a small convolutional classifier whose penultimate layer is the feature space."""

from __future__ import annotations

import torch
from torch import nn

#: Bumped when the architecture changes, so an old file in the cache is retrained, not misread.
ARCHITECTURE = "judge-cnn/3"
FEATURES = 128


class JudgeNet(nn.Module):
    """Two 3x3 convolutions (32 and 64 channels, batch norm, ReLU, max pooling), a 128-unit
    layer (the features) and a linear classifier.

    Takes images in [0, 1], ``[B, C, H, W]``, with H and W divisible by 4.
    """

    def __init__(self, shape: tuple[int, int, int], num_classes: int):
        super().__init__()
        c, h, w = shape
        self.shape, self.num_classes = tuple(shape), num_classes
        self.body = nn.Sequential(
            *_conv_block(c, 32),
            *_conv_block(32, 64),
            nn.Flatten(),
            nn.Linear(64 * (h // 4) * (w // 4), FEATURES),
            nn.ReLU(inplace=True),
        )
        self.dropout = nn.Dropout(0.3)
        self.head = nn.Linear(FEATURES, num_classes)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """Penultimate activations ``[B, 128]`` of images in [0, 1]."""
        return self.body(images - 0.5)  # centred inputs train faster than [0, 1]

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Class logits ``[B, num_classes]``."""
        return self.head(self.dropout(self.features(images)))


def _conv_block(inputs: int, outputs: int) -> list[nn.Module]:
    # Batch norm is what lifts this small net past 99% on MNIST within a few epochs.
    return [
        nn.Conv2d(inputs, outputs, 3, padding=1, bias=False),
        nn.BatchNorm2d(outputs),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
    ]
