"""``completion``: how close completions from the observed column are to the true digit, and how sharp.

Where a classifier for the dataset is registered (the judge), it also says how
confidently the completions are classified and how often as the true digit's class.
"""

from __future__ import annotations

import math

import torch

import genkit


def completes_columns(model) -> bool:
    """Whether ``model`` completes images from their middle column (CVAE or regressor)."""
    return getattr(model, "conditioning", None) == "column" and callable(getattr(model, "complete", None))


def pixel_entropy(images: torch.Tensor) -> torch.Tensor:
    """Mean Bernoulli entropy per pixel in nats, per image: 0 for a crisp black-and-white
    image, log 2 for uniform grey. Lower is sharper."""
    p = images.flatten(1).clamp(1e-6, 1 - 1e-6)
    return -(p * p.log() + (1 - p) * (1 - p).log()).mean(1)


class CompletionError(genkit.Evaluator):
    name = "completion"
    missing = "this model does not complete images from their middle column"

    def unsupported_reason(self, model) -> str | None:
        return None if completes_columns(model) else self.missing

    @torch.no_grad()
    def evaluate(self, ctx: genkit.EvalContext) -> genkit.EvalResult:
        # The latent draws get their own generator so that they do not shift the
        # column binarization, which must be the same for every model scored.
        latents = torch.Generator(device=ctx.x.device).manual_seed(ctx.seed + 1)
        classifier = genkit.find_classifier(ctx.dataset) if ctx.y is not None else None
        mse, entropy, confidence, agrees = [], [], [], []
        start = 0
        for batch in ctx.batches():
            truth = ctx.x[start : start + len(batch)].float() / 255.0
            out = ctx.model.complete(batch, generator=latents)
            mse.append((out - truth).pow(2).flatten(1).mean(1))
            entropy.append(pixel_entropy(out))
            if classifier is not None:
                probs = classifier.class_probabilities(out.view(-1, *ctx.model.data_info.shape), ctx.dataset)
                confidence.append(probs.max(1).values)
                agrees.append((probs.argmax(1) == ctx.y[start : start + len(batch)]).float())
            start += len(batch)
            ctx.advance(len(batch))
        mse_all, ent_all = torch.cat(mse), torch.cat(entropy)
        metrics = {
            "completion_mse": mse_all.mean().item(),
            "completion_mse_stderr": (mse_all.std() / math.sqrt(mse_all.numel())).item(),
            "completion_pixel_entropy": ent_all.mean().item(),
        }
        notes = [
            "completion_mse: per pixel, pixel values in [0, 1], against the grey-level image; one completion "
            "per digit (z from the prior for a CVAE)"
        ]
        if classifier is not None:
            metrics["completion_judge_confidence"] = torch.cat(confidence).mean().item()
            metrics["completion_judge_accuracy"] = torch.cat(agrees).mean().item()
            notes.append(
                "completion_judge_*: the dataset's classifier on the completions: its mean top-class "
                "probability, and how often it names the true digit's class"
            )
        return genkit.EvalResult(metrics=metrics, per_example={"completion_mse": mse_all.cpu()}, notes=notes)
