"""The conditions a model of this plugin can take, built on the device from a raw batch.

* ``label``: the class label, fed to the networks as a one-hot vector.
* ``column``: the middle column of the image, binarized with probability equal
  to the pixel intensity (Doersch 2016, section 5). The image itself is
  binarized in the same draw, so the observed column is exactly the column of
  the target; in training the draw is new on every pass over a digit.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

import genkit
from genkit import Batch

CONDITION_KINDS = ("label", "column")


def middle_column(images: torch.Tensor) -> torch.Tensor:
    """``[B, C, H, W]`` to the middle column, flattened to ``[B, C*H]``."""
    return images[..., images.shape[-1] // 2].flatten(1)


def column_size(data: genkit.DataInfo) -> int:
    c, h, _ = data.shape
    return c * h


def condition_size(kind: str, data: genkit.DataInfo) -> int:
    """Width of the condition's feature vector."""
    if kind == "label":
        if not data.num_classes:
            raise genkit.GenkitError(f"condition 'label' needs a labelled dataset; {data.name} has no classes")
        return data.num_classes
    if kind == "column":
        return column_size(data)
    raise genkit.GenkitError(f"unknown condition '{kind}' (choose one of {', '.join(CONDITION_KINDS)})")


def condition_features(kind: str, condition: torch.Tensor | None, data: genkit.DataInfo) -> torch.Tensor:
    """The condition as the float vector the networks read."""
    if condition is None:
        raise genkit.GenkitError(f"this model is conditioned on a {kind}; pass one (for example --label N)")
    if kind == "label":
        return F.one_hot(condition.long(), data.num_classes).float()
    return condition.float().flatten(1)


def prepare(kind: str, batch: Batch, generator: torch.Generator | None = None) -> Batch:
    """Binarized, flattened images and the condition of a raw uint8 batch."""
    if kind == "label":
        if batch.y is None:
            raise genkit.GenkitError("condition 'label' needs labels, and this batch has none")
        return Batch(x=genkit.binarize(batch.x, generator).flatten(1), y=batch.y, condition=batch.y)
    images = genkit.binarize(batch.x, generator)
    return Batch(x=images.flatten(1), y=batch.y, condition=middle_column(images))


def column_picture(column: torch.Tensor, shape: tuple[int, int, int], background: float = 0.5) -> torch.Tensor:
    """Observed columns ``[B, C*H]`` drawn as images ``[B, C, H, W]``: the column in
    the middle, the unobserved pixels grey."""
    c, h, w = shape
    out = torch.full((column.shape[0], c, h, w), background, device=column.device)
    out[..., w // 2] = column.view(-1, c, h).float()
    return out


def observed_picture(kind: str, batch: Batch, data: genkit.DataInfo) -> torch.Tensor:
    """What a model conditioned on ``kind`` observes of each image of a prepared batch, as images."""
    if kind != "column":
        raise genkit.GenkitError(f"a {kind} is not part of the image; only a column-conditional model completes one")
    return column_picture(batch.condition, data.shape)
