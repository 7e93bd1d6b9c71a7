"""Two sets of images compared in Inception features: what ``genkit fid`` and the score metrics compute."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import torch

from . import metrics as m
from .extractor import LOGITS, POOL, Extractor, load
from .images import ImageSet, from_spec
from .store import cached_features
from .weights import VerifiedWeights, resolve

#: The figures one can ask for, by the short names ``genkit fid`` and the metrics use.
FIGURES = ("fid", "kid", "is", "pr")


@dataclass
class FidelityReport:
    metrics: dict[str, float | int]
    #: What the figures depend on: sample and reference counts, the reference, the extractor, its weights' hash.
    details: dict[str, Any]
    notes: list[str] = field(default_factory=list)


def figures(
    which: Iterable[str], samples: dict[str, torch.Tensor], reference: dict[str, torch.Tensor]
) -> tuple[dict[str, float | int], list[str]]:
    """The figures named in ``which`` of ``samples`` against ``reference`` (features by layer), and notes."""
    which = set(which)
    pool, ref = samples[POOL], reference[POOL]
    notes = m.check_sizes(pool.shape[0], ref.shape[0], pool.shape[1]) if which & {"fid", "kid"} else []
    out: dict[str, float | int] = {}
    if "fid" in which:
        out["inception_fid"] = m.fid(pool, ref)
    if "kid" in which:
        out["inception_kid"], out["inception_kid_std"], size = m.kid(pool, ref)
        if size < m.KID_SUBSET_SIZE:
            notes.append(f"note: KID over subsets of {size} images (the usual 1,000 is more than a set holds)")
    if "is" in which:
        out["inception_score"], out["inception_score_std"] = m.inception_score(samples[LOGITS])
    if "pr" in which:
        out["inception_precision"], out["inception_recall"] = m.precision_recall(pool, ref)
    return out, notes


def details(extractor: Extractor, samples: int, samples_from: str, reference: ImageSet) -> dict[str, Any]:
    return {
        "samples": samples,
        "samples_from": samples_from,
        "reference": reference.label,
        "reference_images": reference.count,
        "extractor": extractor.description,
        "weights_sha256": extractor.weights.sha256,
        "standard_weights": extractor.weights.standard,
    }


def provenance(info: dict[str, Any]) -> str:
    """One line saying what the figures are of, for the notes under a table."""
    weights = (
        "torch-fidelity's standard weights"
        if info["standard_weights"]
        else "NOT the standard weights, so not comparable with published figures"
    )
    return (
        f"Inception figures: {info['samples']} images ({info['samples_from']}) vs {info['reference_images']} "
        f"({info['reference']}); {info['extractor']}, weights SHA-256 {info['weights_sha256'][:16]}... ({weights})"
    )


def compare(
    generated: str | ImageSet,
    reference: str | ImageSet,
    which: Iterable[str] = ("fid",),
    *,
    weights: VerifiedWeights | None = None,
    data_dir: str | None = None,
    device: str = "auto",
    progress: Callable[[str, int], Callable[[int], None]] | None = None,
) -> FidelityReport:
    """Inception figures of the images ``generated`` against ``reference`` (each a folder, ``folder:PATH``
    or a dataset name, meaning its test split); both sets' features are cached by their identity.
    ``weights``: from :func:`genkit_fidelity.weights.resolve` (default: found as it finds them)."""
    sets = [s if isinstance(s, ImageSet) else from_spec(s, data_dir) for s in (generated, reference)]
    m.check_sizes(sets[0].count, sets[1].count, m.POOL_DIM)  # before any feature is computed
    extractor = load(weights or resolve(), device)
    features = []
    for images in sets:
        advance = progress(f"Inception features of {images.label}", images.count) if progress else (lambda n: None)
        features.append(cached_features(images, extractor, advance))
    out, notes = figures(which, *features)
    info = details(extractor, sets[0].count, sets[0].label, sets[1])
    return FidelityReport(out, info, [*sets[0].notes, *sets[1].notes, *notes, provenance(info)])
