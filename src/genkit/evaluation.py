"""Evaluators: metrics computed over a dataset, for any model with the capability they need."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import torch

from .capabilities import BINARIZED, CONTINUOUS, EIGHT_BIT, BoundModel, LatentModel, LikelihoodModel
from .deprecation import warn as warn_deprecated
from .errors import CapabilityError
from .maths import nats_to_bpd
from .model import Batch
from .sampling import Drawing, PriorSampler, sampling_refusal


def likelihood_samples(model, samples: int | None = None) -> int:
    """Importance or dequantization samples per image: ``samples`` (``--samples``) if given, else
    the model's ``likelihood_samples`` (1 for a model that declares none)."""
    return samples or int(getattr(model, "likelihood_samples", 1) or 1)


@dataclass
class EvalContext:
    """What an evaluator works on.

    Args:
        model: the model, in eval mode, on ``device``.
        x, y: the images (uint8, on the device) and labels to evaluate on.
        dataset: name of the dataset ``x`` comes from.
        batch_size: examples per forward pass.
        samples: importance or dequantization samples for likelihood estimates (None: the
            model's default, see :attr:`likelihood_samples`).
        seed: seed of any randomness (test-time binarization, noise), so scores repeat.
        advance: progress callback, called with the number of examples done.
        sampler, sampler_name: how to draw samples (use :meth:`draw`).
        reference: ``genkit score --reference``: the images a metric that declares
            ``takes_reference`` compares samples with instead of ``x`` (a dataset name,
            meaning its test split, or ``folder:PATH``); None: ``x``.
        data_dir: ``--data-dir``, for loading a reference dataset.
        limit: ``--limit``: ``x`` is the first ``limit`` test images, and a metric that draws
            samples draws no more than that many (:meth:`sample_count`); None: no limit.
    """

    model: torch.nn.Module
    x: torch.Tensor
    y: torch.Tensor | None
    dataset: str
    batch_size: int = 500
    samples: int | None = None
    seed: int = 0
    advance: Callable[[int], None] = lambda n: None
    #: ``sampler(n, condition=None, generator=None) -> images [n, C, H, W] in [0, 1]``:
    #: draws through the sampler chosen for this score (``--sampler``, else the model's
    #: default); None when the model cannot sample.
    sampler: Callable[..., torch.Tensor] | None = None
    #: Name of that sampler, for notes.
    sampler_name: str | None = None
    reference: str | None = None
    data_dir: str | None = None
    limit: int | None = None

    @property
    def likelihood_samples(self) -> int:
        """Importance or dequantization samples per image: ``--samples`` if given, else the
        model's own default (its ``likelihood_samples``)."""
        return likelihood_samples(self.model, self.samples)

    def sample_count(self, default: int) -> int:
        """How many samples a metric that draws them draws: its ``default``, or ``--limit`` when fewer."""
        return default if self.limit is None else min(default, self.limit)

    def draw(
        self, n: int, *, condition: torch.Tensor | None = None, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """``n`` samples of the model in [0, 1], through the chosen sampler, checked.

        A context made by hand (without ``sampler``) draws a latent model from its prior.
        """
        sampler = self.sampler
        if sampler is None:
            if not isinstance(self.model, LatentModel):
                raise CapabilityError("this metric needs samples, and no sampler was given for this model")
            sampler = Drawing(self.model, PriorSampler(), "prior")
        return sampler(n, condition=condition, generator=generator)

    def batches(
        self, x: torch.Tensor | None = None, y: torch.Tensor | None = None, batch_size: int | None = None
    ) -> Iterator[Batch]:
        """Prepared batches in a fixed order with a fixed generator: the same
        test-time randomness (binarization, dequantization) on every call."""
        x = self.x if x is None else x
        y = self.y if x is self.x and y is None else y
        bs = batch_size or self.batch_size
        generator = torch.Generator(device=x.device).manual_seed(self.seed)
        for i in range(0, x.shape[0], bs):
            raw = Batch(x=x[i : i + bs], y=None if y is None else y[i : i + bs])
            yield self.model.prepare_batch(raw, generator=generator)


@dataclass
class EvalResult:
    """What an evaluator returns.

    Args:
        metrics: named numbers (floats or ints), shown by ``genkit score`` and kept in ``RUN/scores.json``.
        per_example: named 1-D tensors with one value per test image (for histograms).
        notes: lines of text shown under the table (per-class figures, what a metric counts).
        details: what the figures depend on (how many samples, against what reference, which
            feature extractor and the hash of its weights), as names to JSON scalars; kept with
            the figures in ``RUN/scores.json``.
    """

    metrics: dict[str, float]
    per_example: dict[str, torch.Tensor] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    details: dict[str, str | int | float | bool | None] = field(default_factory=dict)


class Evaluator:
    """A metric over a dataset. Subclasses set ``name`` and implement :meth:`evaluate`."""

    name: str = ""
    description: str = ""
    #: Capability protocols the model must implement.
    requires: tuple[type, ...] = ()
    #: What a model lacking the capability is told.
    missing: str = ""
    #: Whether the metric draws samples (through ``ctx.draw``); a model that cannot sample is refused.
    needs_samples: bool = False
    #: Whether the metric compares with ``ctx.reference`` when given (``genkit score --reference``);
    #: ``--reference`` is refused for a metric that does not.
    takes_reference: bool = False

    def unsupported_reason(self, model) -> str | None:
        """Why ``model`` cannot be scored with this metric, or None if it can."""
        for proto in self.requires:
            if not isinstance(model, proto):
                return self.missing or f"metric '{self.name}' needs {proto.__name__}"
        refusal = sampling_refusal(model) if self.needs_samples else None
        if refusal:
            return f"it needs samples, and {refusal}"
        return None

    def evaluate(self, ctx: EvalContext) -> EvalResult:
        raise NotImplementedError


@runtime_checkable
class ImageClassifier(Protocol):
    """An evaluator that can also classify images of some datasets (the judge is one).

    Interpolation uses it to pick endpoints of different classes, and metrics
    use it to ask whether generated images look like their class.
    """

    def can_classify(self, dataset: str) -> bool: ...

    def classify(self, images: torch.Tensor, dataset: str) -> torch.Tensor:
        """Classes ``[B]`` of images in [0, 1]."""
        ...

    def class_probabilities(self, images: torch.Tensor, dataset: str) -> torch.Tensor:
        """Class probabilities ``[B, K]`` of images in [0, 1]."""
        ...


#: The name of bits per dimension in each likelihood space: ``bpd`` is for 8-bit images only.
BITS_NAMES = {EIGHT_BIT: "bpd", BINARIZED: "bits_per_binarized_pixel", CONTINUOUS: "bits_per_continuous_dim"}


def bits_name(model) -> str | None:
    """What bits per dimension of ``model``'s likelihood are called, or None if it has none.

    A likelihood (or bound) model that declares no ``likelihood_space`` was written before
    spaces existed (contract 1.0), when every such figure was called ``bpd``: it keeps that
    name, with a deprecation warning saying what to declare.
    """
    space = getattr(model, "likelihood_space", None)
    if space is None and isinstance(model, (LikelihoodModel, BoundModel)):
        warn_deprecated(
            "a likelihood model without likelihood_space (its bits per dimension are reported as 'bpd', as in "
            "contract 1.0, whatever data its likelihood is of)",
            'set likelihood_space = "8-bit", "binarized" or "continuous" on the model class, and its bits per '
            "dimension are named after that space",
            since="1.1",
            removed_in="2.0",
            user=model,
        )
        return BITS_NAMES[EIGHT_BIT]
    return BITS_NAMES.get(space)


def bits_per_dim(nats: torch.Tensor, model) -> torch.Tensor:
    """Nats per example to bits per dimension of the data the model describes (its pixels);
    :func:`bits_name` says which quantity that is."""
    return nats_to_bpd(nats, model.data_info.dims)


class NegativeELBO(Evaluator):
    name = "elbo"
    description = (
        "negative evidence lower bound on the test split, in nats (and in bits per dimension of the model's data)"
    )
    requires = (BoundModel,)
    missing = "this model has no evidence lower bound (it is not a VAE-style model)"

    @torch.no_grad()
    def evaluate(self, ctx: EvalContext) -> EvalResult:
        values = []
        for batch in ctx.batches():
            values.append(-ctx.model.elbo(batch))
            ctx.advance(len(batch))
        neg = torch.cat(values)
        metrics = {"neg_elbo_nats": neg.mean().item()}
        unit = bits_name(ctx.model)
        if unit:
            metrics[f"neg_elbo_{unit}"] = bits_per_dim(neg, ctx.model).mean().item()
        return EvalResult(metrics=metrics, per_example={"neg_elbo_nats": neg.cpu()})


class NegativeLogLikelihood(Evaluator):
    """Exact (flows) or importance-weighted (VAEs) negative log-likelihood, in nats and in bits
    per dimension under the name of the model's likelihood space (``bpd`` for 8-bit images).

    As ``bpd`` it applies only to models of 8-bit images: a binarized model's bits are
    another quantity, reported by ``nll`` as ``bits_per_binarized_pixel``.
    """

    description = "negative log-likelihood on the test split in nats and bits per dimension"
    requires = (LikelihoodModel,)
    missing = "this model has no likelihood"

    def __init__(self, name: str):
        self.name = name
        if name == "bpd":
            self.description = (
                "bits per dimension of 8-bit images (negative log-likelihood / (pixels ln 2)) on the test split"
            )

    def unsupported_reason(self, model) -> str | None:
        reason = super().unsupported_reason(model)
        if reason or self.name != "bpd" or bits_name(model) == BITS_NAMES[EIGHT_BIT]:
            return reason
        space = getattr(model, "likelihood_space", None)
        return (
            f"bits per dimension are defined for 8-bit images and this model's likelihood is of {space} data; use "
            f"'nll' (nats and {BITS_NAMES[space]})"
        )

    @torch.no_grad()
    def evaluate(self, ctx: EvalContext) -> EvalResult:
        samples = ctx.likelihood_samples
        values = []
        for batch in ctx.batches():
            values.append(-ctx.model.log_likelihood(batch, samples))
            ctx.advance(len(batch))
        nll = torch.cat(values)
        metrics: dict[str, float] = {"nll_nats": nll.mean().item()}
        per_example = {"nll_nats": nll.cpu()}
        unit = bits_name(ctx.model)
        if unit:
            bits = bits_per_dim(nll, ctx.model)
            metrics.update({unit: bits.mean().item(), f"{unit}_stderr": (bits.std() / math.sqrt(bits.numel())).item()})
            per_example[unit] = bits.cpu()
        metrics["samples"] = samples
        return EvalResult(metrics=metrics, per_example=per_example)


def nll_evaluator() -> NegativeLogLikelihood:
    return NegativeLogLikelihood("nll")


def bpd_evaluator() -> NegativeLogLikelihood:
    return NegativeLogLikelihood("bpd")
