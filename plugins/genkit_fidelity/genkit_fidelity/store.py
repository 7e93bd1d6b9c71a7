"""Inception features of fixed image sets (test splits, folders), kept in genkit's user cache.

One safetensors file per (image set identity, weights SHA-256): a dataset's test split is
identified by its spec and a digest of its pixels, a folder by its path and a digest of its
files, so changed images or other weights never reuse stale features. Generated samples are
never cached.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import torch

import genkit

from .extractor import LOGITS, POOL, Extractor
from .images import ImageSet

_META_KEY = "genkit_fidelity"


def features_path(images: ImageSet, extractor: Extractor) -> Path:
    key = hashlib.sha256(f"{images.identity}|{extractor.weights.sha256}".encode()).hexdigest()[:24]
    return genkit.cache_dir() / "fidelity" / "features" / f"{key}.safetensors"


def cached_features(
    images: ImageSet, extractor: Extractor, advance: Callable[[int], None] = lambda n: None
) -> dict[str, torch.Tensor]:
    """The features of ``images``: from the cache when computed before, else computed and kept."""
    path = features_path(images, extractor)
    if path.is_file():
        try:
            tensors, meta = genkit.load_artifact(path, name=_META_KEY)
            if meta.get("identity") == images.identity and tensors[POOL].shape[0] == images.count:
                advance(images.count)
                return tensors
        except (genkit.ArtifactError, KeyError, AttributeError):
            pass  # a damaged or foreign file: computed again and replaced below
    features = extractor.features(images.batches(), advance)
    meta = {
        "identity": images.identity,
        "label": images.label,
        "count": images.count,
        "extractor": extractor.description,
        "weights_sha256": extractor.weights.sha256,
    }
    try:
        genkit.save_artifact(path, {POOL: features[POOL], LOGITS: features[LOGITS]}, meta, name=_META_KEY)
    except OSError:  # a read-only or full cache only costs the next command the same work
        pass
    return features
