"""The judge's metrics as genkit evaluators, for any model that can sample.

``fd``, ``coverage``, ``confidence``, ``precision-recall`` and, for
label-conditional models, ``label-accuracy`` each draw the same 10,000 samples (no more than ``--limit``;
through the model's sampler, seeded by ``--seed``) and compare the judge's view
of them with its view of the test images; within one ``genkit score`` call the
draw is shared, so asking for several metrics costs one pass.
"""

from __future__ import annotations

import torch

import genkit

from .metrics import (
    JudgeOutputs,
    class_coverage,
    class_histogram,
    frechet_distance,
    judge_outputs,
    mean_confidence,
    precision_recall,
)
from .store import has_judge, load_judge

#: Samples per score, as is usual for Frechet distances; fewer bias the distance upwards.
NUM_SAMPLES = 10_000


class JudgeEvaluator(genkit.Evaluator):
    """Base of the judge's metrics; also the classifier ``genkit interpolate`` uses to pick endpoints."""

    needs_samples = True  # genkit refuses a model it cannot draw from, or only given a condition of its own
    num_samples = NUM_SAMPLES

    # -- the classifier interface genkit's interpolation looks for -------------------
    def can_classify(self, dataset: str) -> bool:
        return has_judge(dataset)

    @torch.no_grad()
    def classify(self, images: torch.Tensor, dataset: str) -> torch.Tensor:
        """Judged classes ``[B]`` of images in [0, 1], on the images' device."""
        return self.class_probabilities(images, dataset).argmax(1)

    @torch.no_grad()
    def class_probabilities(self, images: torch.Tensor, dataset: str) -> torch.Tensor:
        """The judge's class probabilities ``[B, K]`` of images in [0, 1]."""
        judge = load_judge(dataset, images.device, shape=tuple(images.shape[1:]))
        return judge(images.float()).softmax(1)

    # -- scoring ---------------------------------------------------------------------
    def outputs(self, ctx: genkit.EvalContext) -> tuple[JudgeOutputs, JudgeOutputs, int]:
        """(samples, test images, number of classes) as the judge sees them, shared across metrics."""
        n = ctx.sample_count(self.num_samples)
        key = (ctx.dataset, ctx.seed, n, ctx.x.data_ptr(), tuple(ctx.x.shape), ctx.sampler_name)
        if (
            _shared.get("key") != key
            or _shared.get("model") is not ctx.model
            or _shared.get("sampler") is not ctx.sampler
        ):
            # A label-conditional model is asked for the judge's classes: they must be the model's.
            classes = ctx.model.data_info.num_classes if getattr(ctx.model, "conditioning", None) == "label" else None
            judge = load_judge(ctx.dataset, ctx.x.device, shape=tuple(ctx.x.shape[1:]), num_classes=classes)
            reference = judge_outputs(
                judge, (ctx.x[i : i + ctx.batch_size].float() / 255.0 for i in range(0, ctx.x.shape[0], ctx.batch_size))
            )
            samples = judge_outputs(judge, _sample_batches(ctx, n, judge.num_classes))
            _shared.clear()
            _shared.update(key=key, model=ctx.model, sampler=ctx.sampler, value=(samples, reference, judge.num_classes))
        return _shared["value"]


_shared: dict = {}


def _sample_batches(ctx: genkit.EvalContext, n: int, num_classes: int):
    """``n`` samples in batches, through the score's sampler; a label-conditional model
    is asked for every class in turn."""
    generator = torch.Generator(device=ctx.x.device).manual_seed(ctx.seed)
    for start in range(0, n, ctx.batch_size):
        b = min(ctx.batch_size, n - start)
        condition = (
            genkit.cycled_labels(b, num_classes, start, ctx.x.device) if ctx.model.conditioning == "label" else None
        )
        images = ctx.draw(b, condition=condition, generator=generator)
        ctx.advance(b * ctx.x.shape[0] // n)
        yield images


class FrechetDistance(JudgeEvaluator):
    name = "fd"

    def evaluate(self, ctx):
        samples, reference, _ = self.outputs(ctx)
        return genkit.EvalResult(
            metrics={"judge_fd": frechet_distance(samples.features, reference.features)},
            notes=[
                f"judge_fd: Frechet distance in the judge's {samples.features.shape[1]}-d feature space, "
                f"{samples.features.shape[0]} samples vs {reference.features.shape[0]} test images; "
                "comparable only with other judge_fd values on the same dataset"
            ],
        )


class ClassCoverage(JudgeEvaluator):
    name = "coverage"

    def evaluate(self, ctx):
        samples, _, k = self.outputs(ctx)
        hist = class_histogram(samples.labels, k)
        return genkit.EvalResult(
            metrics=class_coverage(samples.labels, k),
            per_example={"judged_class": samples.labels},
            notes=["class histogram of samples: " + " ".join(f"{c}:{p:.3f}" for c, p in enumerate(hist))],
        )


class Confidence(JudgeEvaluator):
    name = "confidence"

    def evaluate(self, ctx):
        samples, reference, _ = self.outputs(ctx)
        return genkit.EvalResult(
            metrics={"judge_confidence": mean_confidence(samples.probs)},
            per_example={"judge_confidence": samples.probs.max(1).values},
            notes=[f"judge confidence on the test images themselves: {mean_confidence(reference.probs):.4f}"],
        )


class PrecisionRecall(JudgeEvaluator):
    name = "precision-recall"

    def evaluate(self, ctx):
        samples, reference, _ = self.outputs(ctx)
        return genkit.EvalResult(metrics=precision_recall(reference.features, samples.features, seed=ctx.seed))


class LabelAccuracy(JudgeEvaluator):
    name = "label-accuracy"

    def unsupported_reason(self, model) -> str | None:
        reason = super().unsupported_reason(model)
        if reason is None and getattr(model, "conditioning", None) != "label":
            return "label-accuracy needs a label-conditional model (one that samples for a requested class)"
        return reason

    def evaluate(self, ctx):
        samples, _, k = self.outputs(ctx)
        requested = genkit.cycled_labels(
            samples.labels.shape[0], k, device=samples.labels.device
        )  # as _sample_batches drew them
        hits = samples.labels == requested
        per_class = [hits[requested == c].float().mean().item() for c in range(k)]
        return genkit.EvalResult(
            metrics={"label_accuracy": hits.float().mean().item(), "worst_label_accuracy": min(per_class)},
            notes=["judged as requested, per label: " + " ".join(f"{c}:{a:.3f}" for c, a in enumerate(per_class))],
        )
