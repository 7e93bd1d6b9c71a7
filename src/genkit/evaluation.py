"""Evaluators: metrics computed over a dataset, for any model with the capability they need."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Iterator, Protocol, runtime_checkable

import torch

from .capabilities import BoundModel, LatentModel, LikelihoodModel
from .errors import CapabilityError
from .model import Batch
from .sampling import PriorSampler, default_sampler_name

LN2 = math.log(2.0)


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

    @property
    def likelihood_samples(self) -> int:
        """Importance or dequantization samples per image: ``--samples`` if given, else the
        model's own default (its ``likelihood_samples`` attribute), else 1."""
        return self.samples or int(getattr(self.model, "likelihood_samples", 1) or 1)

    def draw(self, n: int, *, condition: torch.Tensor | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` samples of the model in [0, 1], through the chosen sampler.

        A context made by hand (without ``sampler``) draws a latent model from its prior.
        """
        if self.sampler is not None:
            return self.sampler(n, condition=condition, generator=generator)
        if isinstance(self.model, LatentModel):
            return PriorSampler().sample(self.model, n, condition=condition, generator=generator)
        raise CapabilityError("this metric needs samples, and no sampler was given for this model")

    def batches(self, x: torch.Tensor | None = None, y: torch.Tensor | None = None, batch_size: int | None = None) -> Iterator[Batch]:
        """Prepared batches in a fixed order with a fixed generator: the same
        test-time randomness (binarization, dequantization) on every call."""
        x = self.x if x is None else x
        y = self.y if x is self.x and y is None else y
        bs = batch_size or self.batch_size
        generator = torch.Generator(device=x.device).manual_seed(self.seed)
        for i in range(0, x.shape[0], bs):
            raw = Batch(x=x[i : i + bs], y=None if y is None else y[i : i + bs])
            yield self.model.prepare_batch(raw, train=False, generator=generator)


@dataclass
class EvalResult:
    """What an evaluator returns.

    Args:
        metrics: named numbers (floats or ints), shown by ``genkit score`` and kept in ``RUN/scores.json``.
        per_example: named 1-D tensors with one value per test image (for histograms).
        notes: lines of text shown under the table (per-class figures, what a metric counts).
    """

    metrics: dict[str, float]
    per_example: dict[str, torch.Tensor] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


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

    def unsupported_reason(self, model) -> str | None:
        """Why ``model`` cannot be scored with this metric, or None if it can."""
        for proto in self.requires:
            if not isinstance(model, proto):
                return self.missing or f"metric '{self.name}' needs {proto.__name__}"
        if self.needs_samples and default_sampler_name(model) is None:
            return "it needs samples, and this model cannot sample (it has no latent space and names no default sampler)"
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


def bits_per_dim(nats: torch.Tensor, model) -> torch.Tensor:
    """Nats per example to bits per dimension of the data the model describes."""
    dims = getattr(model, "likelihood_dims", None) or model.data_info.dims
    return nats / (dims * LN2)


class NegativeELBO(Evaluator):
    name = "elbo"
    description = "negative evidence lower bound on the test split, in nats (and as bits per dimension)"
    requires = (BoundModel,)
    missing = "this model has no evidence lower bound (it is not a VAE-style model)"

    @torch.no_grad()
    def evaluate(self, ctx: EvalContext) -> EvalResult:
        values = []
        for batch in ctx.batches():
            values.append(-ctx.model.elbo(batch))
            ctx.advance(len(batch))
        neg = torch.cat(values)
        return EvalResult(
            metrics={"neg_elbo_nats": neg.mean().item(), "neg_elbo_bpd": bits_per_dim(neg, ctx.model).mean().item()},
            per_example={"neg_elbo_nats": neg.cpu()},
        )


class NegativeLogLikelihood(Evaluator):
    """Exact (flows) or importance-weighted (VAEs) negative log-likelihood and bits per dimension."""

    description = "negative log-likelihood on the test split in nats and bits per dimension"
    requires = (LikelihoodModel,)
    missing = "this model has no likelihood"

    def __init__(self, name: str):
        self.name = name

    @torch.no_grad()
    def evaluate(self, ctx: EvalContext) -> EvalResult:
        samples = ctx.likelihood_samples
        values = []
        for batch in ctx.batches():
            values.append(-ctx.model.log_likelihood(batch, samples))
            ctx.advance(len(batch))
        nll = torch.cat(values)
        bpd = bits_per_dim(nll, ctx.model)
        return EvalResult(
            metrics={"nll_nats": nll.mean().item(), "bpd": bpd.mean().item(), "bpd_stderr": (bpd.std() / math.sqrt(bpd.numel())).item(), "samples": samples},
            per_example={"nll_nats": nll.cpu(), "bpd": bpd.cpu()},
        )


def nll_evaluator() -> NegativeLogLikelihood:
    return NegativeLogLikelihood("nll")


def bpd_evaluator() -> NegativeLogLikelihood:
    return NegativeLogLikelihood("bpd")
