"""Pictures: sample grids, training curves, image strips and histograms as PNG files (or PNG bytes for a page)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display is needed or wanted
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402


def tile(images: torch.Tensor, nrow: int | None = None, pad: int = 1) -> np.ndarray:
    """``[N, C, H, W]`` in [0, 1] to one ``[rows*H, nrow*W(, C)]`` array with a thin white border.

    ``nrow`` images per row (default: a square-ish grid); a short last row, or
    fewer than ``nrow`` images, leaves white cells.
    """
    from torchvision.utils import make_grid

    images = images.detach().float().clamp(0, 1).cpu()
    n, c = images.shape[:2]
    nrow = nrow or math.ceil(math.sqrt(n))
    if n < nrow:  # make_grid narrows a grid of fewer images than a row; keep the row's width
        images = torch.cat([images, images.new_ones(nrow - n, *images.shape[1:])])
    if images.shape[0] == 1:  # make_grid returns a single image without its border
        grid = torch.nn.functional.pad(images[0], (pad, pad, pad, pad), value=1.0)
    else:
        grid = make_grid(images, nrow=nrow, padding=pad, pad_value=1.0)
    array = grid.permute(1, 2, 0).numpy()
    return array[..., 0] if c == 1 else array  # make_grid repeats one channel three times


def _show(ax, array: np.ndarray) -> None:
    ax.imshow(array, cmap="gray" if array.ndim == 2 else None, vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def save_grid(images: torch.Tensor, path: str | Path, title: str | None = None, nrow: int | None = None) -> Path:
    """A square-ish grid of images."""
    array = tile(images, nrow)
    size = max(3.0, min(12.0, array.shape[1] / 40))
    fig, ax = plt.subplots(figsize=(size, size * array.shape[0] / array.shape[1] + (0.4 if title else 0)))
    _show(ax, array)
    if title:
        ax.set_title(title, fontsize=10)
    return _save(fig, path)


def save_rows(
    rows: Sequence[torch.Tensor], path: str | Path, labels: Sequence[str] | None = None, title: str | None = None
) -> Path:
    """Rows of images (an interpolation, a completion figure), each row labelled on the left."""
    ncol = max(r.shape[0] for r in rows)
    fig, axes = plt.subplots(
        len(rows), 1, figsize=(max(4.0, 0.9 * ncol), 1.0 * len(rows) + (0.5 if title else 0.1)), squeeze=False
    )
    for i, (ax, row) in enumerate(zip(axes[:, 0], rows)):
        _show(ax, tile(row, nrow=ncol))
        if labels:
            ax.set_ylabel(labels[i], rotation=0, ha="right", va="center", fontsize=9)
    if title:
        fig.suptitle(title, fontsize=10)
    return _save(fig, path)


def save_columns(
    columns: Sequence[torch.Tensor], path: str | Path, titles: Sequence[str], title: str | None = None
) -> Path:
    """A table of images: column j shows ``columns[j]`` (``[rows, C, H, W]``), one image per row,
    under the heading ``titles[j]`` (a completion figure: observed part, samples, truth)."""
    rows, cols = columns[0].shape[0], len(columns)
    fig, axes = plt.subplots(rows, cols, figsize=(0.9 * cols + 0.4, 0.9 * rows + 0.7), squeeze=False)
    for j, (images, name) in enumerate(zip(columns, titles)):
        for i in range(rows):
            _show(axes[i, j], tile(images[i : i + 1], pad=0))
            if i == 0:
                axes[i, j].set_title(name, fontsize=8)
    if title:
        fig.suptitle(title, fontsize=8)
    return _save(fig, path)


def save_curves(metrics: list[dict], path: str | Path, title: str = "") -> Path:
    """Every logged term per epoch, training and validation, one panel per term."""
    terms = sorted({k for m in metrics for k in (*m.get("train", {}), *m.get("val", {}))})
    cols = min(3, max(1, len(terms)))
    rows = math.ceil(len(terms) / cols) or 1
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.0 * rows), squeeze=False)
    epochs = [m["epoch"] for m in metrics]
    for ax, term in zip(axes.flat, terms):
        for split, style in (("train", "-"), ("val", "--")):
            ys = [m.get(split, {}).get(term, np.nan) for m in metrics]
            if not all(np.isnan(ys)):
                ax.plot(epochs, ys, style, marker="." if len(epochs) < 30 else None, label=split)
        ax.set_title(term, fontsize=10)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    for ax in list(axes.flat)[len(terms) :]:
        ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=11)
    return _save(fig, path)


def save_histograms(values: dict[str, np.ndarray], path: str | Path, xlabel: str, title: str = "") -> Path:
    """Overlaid histograms of several named samples (for example bpd of two datasets)."""
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    finite = np.concatenate([v[np.isfinite(v)] for v in values.values()])
    bins = np.linspace(finite.min(), finite.max(), 60) if finite.size else 30
    for name, v in values.items():
        ax.hist(v[np.isfinite(v)], bins=bins, alpha=0.55, density=True, label=f"{name} (mean {np.nanmean(v):.3f})")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("density")
    ax.legend(fontsize=9)
    if title:
        ax.set_title(title, fontsize=10)
    return _save(fig, path)


def histogram_png(values: np.ndarray, marker: float | None, xlabel: str, title: str = "") -> bytes:
    """A histogram of ``values`` with a vertical line at ``marker`` (one image's value), as PNG bytes."""
    import io

    fig, ax = plt.subplots(figsize=(4.8, 2.8))
    finite = values[np.isfinite(values)]
    low, high = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
    if marker is not None and np.isfinite(marker):
        low, high = min(low, marker), max(high, marker)
    ax.hist(finite, bins=np.linspace(low, high, 40) if high > low else 20, color="#7a9cc6", label="test images")
    if marker is not None:
        ax.axvline(marker, color="#c0392b", linewidth=2, label=f"this image: {marker:.3f}")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("test images")
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return buffer.getvalue()


def _save(fig, path: str | Path) -> Path:
    """Write the figure as a PNG, atomically (a reader never sees half a picture)."""
    from .files import atomic_write

    fig.tight_layout()
    try:
        return atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=110, format="png"))
    finally:
        plt.close(fig)
