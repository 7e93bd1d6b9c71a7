"""Datasets: in-memory tensors from IDX files, a download, the embedded subset or a plugin."""

from __future__ import annotations

from .datasets import DatasetSpec, ImageDataset, Split, split_validation


def load_dataset(name: str, data_dir: str | None = None) -> ImageDataset:
    """Load a registered dataset by name (``name:ARG`` passes ARG to its loader)."""
    from ..plugins import get_plugin_manager

    base, _, arg = name.partition(":")
    spec = get_plugin_manager().dataset(base)
    return spec.loader()(data_dir, arg or None)


__all__ = ["DatasetSpec", "ImageDataset", "Split", "load_dataset", "split_validation"]
