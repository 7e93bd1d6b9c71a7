"""The Inception figures as ``genkit score`` metrics, for any model that can sample.

``inception-fid``, ``inception-kid``, ``inception-score`` and ``inception-pr`` draw as many
samples as there are reference images (the test split scored, its first ``--limit``, or every
image of ``--reference``), through the score's sampler seeded by ``--seed``, and compare their
Inception features with the reference's (cached by the reference's identity). Within one
``genkit score`` call the draw and the features are shared, so asking for all four costs one pass.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch

import genkit

from .compare import details, figures, provenance
from .extractor import load
from .images import ImageSet, from_spec, from_tensor, to_rgb_uint8
from .metrics import POOL_DIM, check_sizes
from .store import cached_features
from .weights import resolve


class InceptionMetric(genkit.Evaluator):
    needs_samples = True  # genkit refuses a model it cannot draw from, or only given a condition of its own
    takes_reference = True
    #: The figure of :func:`genkit_fidelity.compare.figures` this metric reports.
    figure = ""

    @torch.no_grad()
    def evaluate(self, ctx: genkit.EvalContext) -> genkit.EvalResult:
        shared = _features(ctx)
        out, notes = figures((self.figure,), shared.samples, shared.reference)
        return genkit.EvalResult(
            metrics=out, notes=[*shared.notes, *notes, provenance(shared.details)], details=shared.details
        )


class InceptionFID(InceptionMetric):
    name, figure = "inception-fid", "fid"


class InceptionKID(InceptionMetric):
    name, figure = "inception-kid", "kid"


class InceptionScore(InceptionMetric):
    name, figure = "inception-score", "is"


class InceptionPrecisionRecall(InceptionMetric):
    name, figure = "inception-pr", "pr"


@dataclass
class _Shared:
    samples: dict[str, torch.Tensor]
    reference: dict[str, torch.Tensor]
    details: dict[str, Any]
    notes: list[str]


_shared: dict = {}


def _features(ctx: genkit.EvalContext) -> _Shared:
    """Features of the samples and of the reference, computed once per score call."""
    key = (ctx.dataset, ctx.reference, ctx.seed, ctx.x.data_ptr(), tuple(ctx.x.shape), ctx.sampler_name)
    if _shared.get("key") == key and _shared.get("model") is ctx.model and _shared.get("sampler") is ctx.sampler:
        return _shared["value"]
    weights = resolve()  # a missing or wrong file is one line before anything is drawn
    reference = _reference(ctx)
    check_sizes(reference.count, reference.count, POOL_DIM)
    extractor = load(weights, ctx.x.device)
    advance = _Scaled(ctx.advance, ctx.x.shape[0], 2 * reference.count)
    ref_features = cached_features(reference, extractor, advance)
    n = reference.count
    samples = extractor.features(_sample_batches(ctx, n), advance)
    info = details(extractor, n, f"drawn with '{ctx.sampler_name}'", reference)
    value = _Shared(samples, ref_features, info, reference.notes)
    _shared.clear()
    _shared.update(key=key, model=ctx.model, sampler=ctx.sampler, value=value)
    return value


def _reference(ctx: genkit.EvalContext) -> ImageSet:
    if ctx.reference:
        return from_spec(ctx.reference, ctx.data_dir)
    return from_tensor(ctx.x, f"{ctx.dataset} test", f"{genkit.dataset_identity(ctx.dataset)}|test")


def _sample_batches(ctx: genkit.EvalContext, n: int) -> Iterator[torch.Tensor]:
    """``n`` samples as 8-bit RGB batches; a label-conditional model is asked for every class in turn."""
    generator = torch.Generator(device=ctx.x.device).manual_seed(ctx.seed)
    classes = ctx.model.data_info.num_classes if getattr(ctx.model, "conditioning", None) == "label" else None
    for start in range(0, n, ctx.batch_size):
        b = min(ctx.batch_size, n - start)
        condition = genkit.cycled_labels(b, classes, start, ctx.x.device) if classes else None
        yield to_rgb_uint8(ctx.draw(b, condition=condition, generator=generator))


class _Scaled:
    """Moves a progress bar of ``total`` steps across ``work`` images."""

    def __init__(self, advance: Callable[[int], None], total: int, work: int):
        self.advance, self.total, self.work, self.done, self.shown = advance, total, max(work, 1), 0, 0

    def __call__(self, n: int) -> None:
        self.done += n
        target = min(self.total, self.done * self.total // self.work)
        if target > self.shown:
            self.advance(target - self.shown)
            self.shown = target
