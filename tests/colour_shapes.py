"""A small colour dataset written on the fly: coloured discs and squares on coloured
backgrounds, PNGs of two sizes (40x40 and 36x44) so loading needs a declared resize."""

from __future__ import annotations

import warnings
from pathlib import Path

import torch

SHAPES = ("disc", "square")


def shape_image(kind: str, h: int, w: int, generator: torch.Generator) -> torch.Tensor:
    """One uint8 [3, h, w] image: a random-colour shape of random size and place on a random background."""
    background = torch.randint(0, 256, (3, 1, 1), generator=generator)
    colour = torch.randint(0, 256, (3, 1, 1), generator=generator)
    radius = int(torch.randint(min(h, w) // 6, min(h, w) // 3, (1,), generator=generator))
    cy = int(torch.randint(radius, h - radius, (1,), generator=generator))
    cx = int(torch.randint(radius, w - radius, (1,), generator=generator))
    ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    if kind == "disc":
        inside = (ys - cy) ** 2 + (xs - cx) ** 2 <= radius**2
    else:
        inside = ((ys - cy).abs() <= radius) & ((xs - cx).abs() <= radius)
    return torch.where(inside, colour, background).to(torch.uint8)


def write_colour_shapes(root: Path, n: int = 48, seed: int = 0) -> Path:
    """``n`` PNGs under ``root/disc`` and ``root/square`` (class folders); returns ``root``."""
    from torchvision.io import encode_png, write_file

    generator = torch.Generator().manual_seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        for i in range(n):
            kind = SHAPES[i % 2]
            h, w = (40, 40) if i % 3 else (36, 44)
            (root / kind).mkdir(parents=True, exist_ok=True)
            write_file(str(root / kind / f"{i}.png"), encode_png(shape_image(kind, h, w, generator)))
    return root
