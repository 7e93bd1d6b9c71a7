"""The image-folder dataset: ``--dataset folder:PATH`` trains on a directory of pictures.

Layout (labels come from class folders when there are at least two)::

    PATH/*.png                      unlabeled; a tenth is held out as the test split
    PATH/CLASS/*.png                labeled by folder name (sorted = class 0, 1, ...)
    PATH/train/..., PATH/test/...   explicit splits, each laid out as above

Options follow a ``?``: ``folder:PATH?size=28&channels=1&test=0.2``.

- ``size=N`` or ``size=HxW``: resize every image (stretching, antialiased);
  without it all images must already share one size.
- ``channels=1|3|4``: convert to gray, RGB or RGBA while decoding; without it
  all images must share one channel count.
- ``test=F``: the fraction held out as the test split when there is no
  ``train``/``test`` layout (default 0.1).

Every image is decoded once, into one ``uint8 [N, C, H, W]`` tensor. Before anything is
decoded, each file's header is read for its declared size: one image above
:data:`MAX_IMAGE_PIXELS`, or a set whose decoded size would exceed half this machine's memory, is
refused in one line (a small PNG can declare 60000x60000 pixels).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from urllib.parse import parse_qsl

import torch
import torch.nn.functional as F

from ..errors import DataError
from .datasets import ImageDataset

EXTENSIONS = {".png", ".jpg", ".jpeg", ".gif", ".webp"}
#: The most pixels one image may declare (a 40-megapixel photo is 160 MB decoded as RGBA).
MAX_IMAGE_PIXELS = 40_000_000
_OPTIONS = {"size", "channels", "test"}
_RESIZE_CHUNK = 512  # images resized per call, to bound the float copy


def parse_folder_arg(arg: str | None) -> tuple[Path, dict[str, str]]:
    """``PATH?key=value&...`` to the path and its options."""
    if not arg:
        raise DataError(
            "the folder dataset needs a path: --dataset folder:PATH (options: ?size=28&channels=1&test=0.1)"
        )
    path, _, query = arg.partition("?")
    options = dict(parse_qsl(query, keep_blank_values=True, strict_parsing=False)) if query else {}
    unknown = set(options) - _OPTIONS
    if unknown:
        raise DataError(f"folder dataset: unknown option '{sorted(unknown)[0]}' (known: {', '.join(sorted(_OPTIONS))})")
    return Path(path).expanduser(), options


def load_folder(data_dir: str | None, arg: str | None) -> ImageDataset:
    """Load ``folder:PATH[?options]`` (``data_dir`` is unused: the path says where)."""
    root, options = parse_folder_arg(arg)
    root = root.resolve()
    if not root.is_dir():
        raise DataError(f"folder dataset: {root} is not a directory")
    size = _parse_size(options.get("size"))
    channels = _parse_choice(options.get("channels"), "channels", {"1", "3", "4"})
    test_fraction = _parse_fraction(options.get("test", "0.1"))

    if (root / "train").is_dir() and (root / "test").is_dir():
        train_files, train_names = _labeled_files(root / "train")
        test_files, test_names = _labeled_files(root / "test")
        classes = sorted(set(train_names) | set(test_names))
    else:
        files, names = _labeled_files(root)
        classes = sorted(set(names))
        order = torch.randperm(len(files), generator=torch.Generator().manual_seed(0)).tolist()
        n_test = max(1, round(len(files) * test_fraction))
        if len(files) - n_test < 1:
            raise DataError(
                f"folder dataset: {root} has {len(files)} image(s); at least 2 are needed (one to train, one to test)"
            )
        test_idx, train_idx = order[:n_test], order[n_test:]
        train_files, train_names = [files[i] for i in train_idx], [names[i] for i in train_idx]
        test_files, test_names = [files[i] for i in test_idx], [names[i] for i in test_idx]

    labeled = len(classes) >= 2
    train_x, test_x = _decode_all(train_files + test_files, size, channels).split([len(train_files), len(test_files)])
    index = {c: i for i, c in enumerate(classes)}
    labels = lambda names: torch.tensor([index[n] for n in names], dtype=torch.long) if labeled else None  # noqa: E731
    query = "&".join(f"{k}={options[k]}" for k in sorted(options))
    return ImageDataset(
        name=f"folder:{root}" + (f"?{query}" if query else ""),
        train_x=train_x.contiguous(),
        test_x=test_x.contiguous(),
        train_y=labels(train_names),
        test_y=labels(test_names),
        num_classes=len(classes) if labeled else None,
        source=str(root),
        class_names=classes if labeled else [],
    )


def _labeled_files(root: Path) -> tuple[list[Path], list[str]]:
    """Image files under ``root`` and each one's class folder ("" when unlabeled)."""
    top = sorted(p for p in root.iterdir() if _is_image(p))
    class_dirs = sorted(
        d
        for d in root.iterdir()
        if d.is_dir() and not d.name.startswith(".") and any(_is_image(p) for p in d.rglob("*"))
    )
    if top and class_dirs:
        raise DataError(
            f"folder dataset: {root} has images both at its top level and in subfolders ({class_dirs[0].name}/); put "
            "every image in a class folder or none"
        )
    if top:
        return top, [""] * len(top)
    files, names = [], []
    for d in class_dirs:
        found = sorted(p for p in d.rglob("*") if _is_image(p))
        files += found
        names += [d.name] * len(found)
    if not files:
        raise DataError(f"folder dataset: no images ({', '.join(sorted(EXTENSIONS))}) under {root}")
    return files, names


def _is_image(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in EXTENSIONS and not path.name.startswith(".")


def _decode_all(files: list[Path], size: tuple[int, int] | None, channels: str | None) -> torch.Tensor:
    from torchvision.io import ImageReadMode, decode_image, read_file

    mode = {
        None: ImageReadMode.UNCHANGED,
        "1": ImageReadMode.GRAY,
        "3": ImageReadMode.RGB,
        "4": ImageReadMode.RGB_ALPHA,
    }[channels]
    check_declared_sizes(files, channels)
    images = []
    with warnings.catch_warnings():
        # torchvision 0.29 announces a future move of its decoders; they work as documented.
        warnings.simplefilter("ignore", DeprecationWarning)
        for path in files:  # decoding is per file by nature; it happens once per load
            try:
                images.append(decode_image(read_file(str(path)), mode=mode))
            except (RuntimeError, ValueError) as exc:
                raise DataError(f"folder dataset: cannot decode {path}: {str(exc).splitlines()[0]}") from None
    if len({im.shape[0] for im in images}) > 1:
        a, b = sorted({im.shape[0] for im in images})[:2]
        raise DataError(
            f"folder dataset: images have {a} and {b} channels; add ?channels=1 (gray) or ?channels=3 (RGB) to "
            "convert them"
        )
    if size is None:
        shapes = sorted({tuple(im.shape[1:]) for im in images})
        if len(shapes) > 1:
            (h0, w0), (h1, w1) = shapes[:2]
            raise DataError(
                f"folder dataset: images have different sizes ({h0}x{w0} and {h1}x{w1}); add ?size=N or ?size=HxW to "
                "resize them"
            )
        return torch.stack(images)
    return _resize(images, size)


def check_declared_sizes(files: list[Path], channels: str | None, budget: int | None = None) -> None:
    """Refuse, before decoding, an image whose header declares more than :data:`MAX_IMAGE_PIXELS`
    pixels, or files whose decoded images together would take more than ``budget`` bytes
    (default: half this machine's memory). Only headers are read (Pillow opens lazily)."""
    from PIL import Image

    budget = budget or _memory_budget()
    total = 0
    limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None  # our bound, with the size in the message
    try:
        for path in files:
            try:
                with Image.open(path) as im:
                    (w, h), bands = im.size, len(im.getbands())
            except (OSError, ValueError, SyntaxError) as exc:
                raise DataError(f"folder dataset: cannot decode {path}: {str(exc).splitlines()[0]}") from None
            if w * h > MAX_IMAGE_PIXELS:
                raise DataError(
                    f"folder dataset: {path} declares {w}x{h} pixels ({w * h / 1e6:,.0f} megapixels), more than the "
                    f"{MAX_IMAGE_PIXELS / 1e6:.0f}-megapixel limit for one image; it was not decoded (shrink or "
                    "remove it)"
                )
            total += w * h * (int(channels) if channels else bands)
    finally:
        Image.MAX_IMAGE_PIXELS = limit
    if total > budget:
        raise DataError(
            f"folder dataset: the {len(files)} images declare {total / 2**30:.1f} GiB of pixels, more than the "
            f"{budget / 2**30:.1f} GiB that decoding may take (half this machine's memory); use fewer or smaller images"
        )


def _memory_budget() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2
    except (ValueError, OSError, AttributeError):  # no sysconf (Windows): assume a modest machine
        return 4 * 2**30


def _resize(images: list[torch.Tensor], size: tuple[int, int]) -> torch.Tensor:
    """Resize to ``size`` in batches of same-shaped images (antialiased bilinear)."""
    out = torch.empty((len(images), images[0].shape[0], *size), dtype=torch.uint8)
    groups: dict[tuple[int, ...], list[int]] = {}
    for i, im in enumerate(images):
        groups.setdefault(tuple(im.shape), []).append(i)
    for shape, idx in groups.items():
        for start in range(0, len(idx), _RESIZE_CHUNK):
            part = idx[start : start + _RESIZE_CHUNK]
            batch = torch.stack([images[i] for i in part])
            if tuple(shape[1:]) != size:
                batch = (
                    F.interpolate(batch.float(), size=size, mode="bilinear", antialias=True, align_corners=False)
                    .round_()
                    .clamp_(0, 255)
                    .to(torch.uint8)
                )
            out[part] = batch
    return out


def _parse_size(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    parts = text.lower().split("x")
    try:
        values = [int(p) for p in parts]
    except ValueError:
        values = []
    if len(values) not in (1, 2) or min(values) < 1:
        raise DataError(f"folder dataset: size must be N or HxW with positive integers (got '{text}')")
    return (values[0], values[-1])


def _parse_choice(text: str | None, what: str, allowed: set[str]) -> str | None:
    if text is not None and text not in allowed:
        raise DataError(f"folder dataset: {what} must be one of {', '.join(sorted(allowed))} (got '{text}')")
    return text


def _parse_fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 0.5:
        raise DataError(f"folder dataset: test must be a fraction in (0, 0.5] (got '{text}')")
    return value
