"""Sets of images to compare: a folder of pictures made by any tool, or a dataset's test split.

``folder:PATH`` (or a path to a directory) is every picture under it, read the way
torch-fidelity reads a folder (PIL, converted to RGB); any other text is a dataset that genkit
can load (``mnist``, ``fashion-mnist``, a plugin's), and means its test split. The images are
streamed to the extractor in batches, so a large folder is never held in memory at once.

Two kinds of mixed folders are accepted, and a note says what was done: grey pictures among
colour ones are repeated into three channels (what torch-fidelity's RGB conversion does), and
pictures of several sizes are fed in batches of one size each, since the extractor resizes every
image to 299x299 on its own (stretching one that is not square).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import genkit

if TYPE_CHECKING:
    import torch

#: Images per forward pass (torch-fidelity's default batch size), bounding the activations at 299x299.
BATCH = 64
EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")
GREY_MODES = {"1", "L", "LA", "I", "I;16", "F"}


@dataclass
class ImageSet:
    """Images with what identifies them (the cache key of their features) and how to read them."""

    label: str  # shown and recorded: "mnist test", "folder /abs/path"
    identity: str
    count: int
    read: Callable[[], Iterator[torch.Tensor]]  # uint8 RGB batches
    notes: list[str] = field(default_factory=list)

    def batches(self) -> Iterator[torch.Tensor]:
        return self.read()


def from_tensor(images: torch.Tensor, label: str, identity: str) -> ImageSet:
    """Images held as ``uint8 [N, C, H, W]`` (a test split); ``identity`` gains a digest of their bytes."""
    digest = hashlib.sha256(images.detach().cpu().contiguous().numpy().tobytes()).hexdigest()[:16]
    notes = [f"{label}: grey images repeated into three channels"] if images.shape[1] in (1, 2) else []
    return ImageSet(
        label=label,
        identity=f"{identity}#{images.shape[0]}x{digest}",
        count=images.shape[0],
        read=lambda: (to_rgb_uint8(part) for part in images.split(BATCH)),
        notes=notes,
    )


def from_spec(spec: str, data_dir: str | None = None) -> ImageSet:
    """``folder:PATH``, a directory, or a dataset name (its test split)."""
    if spec.startswith("folder:"):
        where, _, query = spec.removeprefix("folder:").partition("?")
        if query:
            raise genkit.GenkitError(
                f"'{spec}': options do not apply here; every picture is read in colour at its own size and "
                "resized to 299x299 by the extractor"
            )
        return from_folder(Path(where))
    path = Path(spec).expanduser()
    if path.is_dir():
        return from_folder(path)
    if path.exists() or "/" in spec or spec.startswith((".", "~")):
        raise genkit.GenkitError(f"'{spec}' is not a folder of images (nor a dataset name)")
    data = genkit.load_dataset(spec, data_dir)  # a GenkitError naming the datasets when unknown
    label = f"{data.name} test" + (" (embedded subset)" if data.embedded else "")
    return from_tensor(data.test_x, label, f"{genkit.dataset_identity(spec)}|test")


def from_folder(root: Path) -> ImageSet:
    from PIL import Image, UnidentifiedImageError

    root = root.expanduser().resolve()
    if not root.is_dir():
        raise genkit.GenkitError(f"no folder at {root}")
    files = sorted(
        p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in EXTENSIONS and not p.name.startswith(".")
    )
    if not files:
        raise genkit.GenkitError(f"no images ({', '.join(EXTENSIONS)}) under {root}")
    by_size: dict[tuple[int, int], list[Path]] = {}
    grey = 0
    for path in files:  # headers only: the pixels are decoded batch by batch
        try:
            with Image.open(path) as im:
                by_size.setdefault(im.size, []).append(path)
                grey += im.mode in GREY_MODES
        except (OSError, UnidentifiedImageError) as exc:
            raise genkit.GenkitError(f"cannot read {path} as an image: {str(exc).splitlines()[0]}") from None
    notes = []
    if 0 < grey < len(files):
        notes.append(f"{root}: {grey} grey images of {len(files)} repeated into three channels, as RGB conversion does")
    elif grey:
        notes.append(f"{root}: grey images repeated into three channels")
    if len(by_size) > 1:
        sizes = ", ".join(f"{w}x{h}" for w, h in sorted(by_size)[:4]) + (", ..." if len(by_size) > 4 else "")
        notes.append(
            f"{root}: images of {len(by_size)} sizes ({sizes}); each is resized to 299x299 by the extractor, "
            "stretching any that is not square"
        )
    groups = [by_size[size] for size in sorted(by_size)]
    return ImageSet(
        label=f"folder {root}",
        identity=genkit.dataset_identity(f"folder:{root}"),
        count=len(files),
        read=lambda: _decode(groups),
        notes=notes,
    )


def _decode(groups: list[list[Path]]) -> Iterator[torch.Tensor]:
    """Batches of one size each, decoded as torch-fidelity decodes a folder (PIL, ``convert("RGB")``)."""
    import torch
    from torch_fidelity.datasets import ImagesPathDataset

    for files in groups:
        for start in range(0, len(files), BATCH):
            part = ImagesPathDataset([str(p) for p in files[start : start + BATCH]])
            yield torch.stack([part[i] for i in range(len(part))])


def to_rgb_uint8(images: torch.Tensor) -> torch.Tensor:
    """Images as the extractor takes them: ``uint8 [N, 3, H, W]``.

    Floats in [0, 1] (samples) become 8 bits the way a PNG of them is written (``round(255 x)``,
    as torchvision's ``save_image``); grey is repeated into three channels and an alpha channel
    dropped, as PIL's ``convert("RGB")`` does when torch-fidelity reads a folder.
    """
    import torch

    if images.dtype != torch.uint8:
        images = images.float().mul(255).add_(0.5).clamp_(0, 255).to(torch.uint8)
    channels = images.shape[1]
    if channels in (1, 2):  # grey, grey + alpha
        return images[:, :1].expand(-1, 3, -1, -1)
    if channels in (3, 4):  # RGB, RGBA
        return images[:, :3]
    raise genkit.GenkitError(f"Inception features need grey or colour images; these have {channels} channels")
