"""plots.tile (through torchvision's make_grid) places every image where a hand-computed grid does."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from genkit.plots import tile


def expected_grid(images: torch.Tensor, nrow: int, pad: int) -> np.ndarray:
    """Image i at row i // nrow, column i % nrow, each cell ``pad`` pixels apart, white elsewhere."""
    n, c, h, w = images.shape
    rows = -(-n // nrow)
    canvas = np.ones((rows * (h + pad) + pad, nrow * (w + pad) + pad, c), dtype=np.float32)
    for i in range(n):
        top, left = pad + (i // nrow) * (h + pad), pad + (i % nrow) * (w + pad)
        canvas[top : top + h, left : left + w] = images[i].permute(1, 2, 0).numpy()
    return canvas[..., 0] if c == 1 else canvas


@pytest.mark.parametrize(
    "n, c, nrow, pad", [(5, 1, 3, 1), (7, 3, None, 2), (1, 1, None, 1), (2, 1, 4, 1), (6, 3, 6, 0)]
)
def test_tile_matches_a_hand_computed_grid(n, c, nrow, pad):
    images = torch.rand(n, c, 4, 5, generator=torch.Generator().manual_seed(n))
    got = tile(images, nrow, pad)
    want = expected_grid(images, nrow or int(np.ceil(np.sqrt(n))), pad)
    assert got.shape == want.shape and np.array_equal(got, want)


def test_tile_clamps_to_the_unit_range():
    assert tile(torch.full((4, 1, 2, 2), 3.0)).max() == 1.0
    assert tile(torch.full((4, 1, 2, 2), -3.0)).min() == 0.0
