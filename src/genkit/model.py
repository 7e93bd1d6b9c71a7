"""The model interface every genkit model family implements.

A model is an ``nn.Module`` (a :class:`GenerativeModel`) plus a
:class:`~genkit.spec.ModelSpec` that tells genkit its name, its pydantic config and how to
build it. Training is expressed as a list of :class:`Update` steps, each an
optimizer paired with an objective that returns named :class:`LossTerms`, so a
VAE (one optimizer) and a GAN (two, alternating) go through the same loop.
Updates share nothing behind the loop's back: a value one update's objective
computes for the next (a GAN's fake batch) is returned as ``LossTerms.carry``
and handed to the next objective as its second argument.

What a model can do beyond training is declared by implementing the protocols
in :mod:`genkit.capabilities` (a latent space, a likelihood, a bound, an
encoder); the CLI asks for a capability, never for a model by name.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch
from pydantic import BaseModel
from torch import nn

from .deprecation import warn as warn_deprecated
from .optim import adam
from .spec import ModelSpec  # noqa: F401  (its home is genkit.spec; kept importable from here)


@dataclass
class Batch:
    """One batch of examples as a model consumes it.

    Args:
        x: images, ``[B, C, H, W]``; raw ``uint8`` straight from the dataset,
            then whatever :meth:`GenerativeModel.prepare_batch` makes of them.
        y: integer class labels ``[B]``, when the dataset has them.
        condition: what a conditional model is given (a label, a partial image).
    """

    x: torch.Tensor
    y: torch.Tensor | None = None
    condition: torch.Tensor | None = None

    def __len__(self) -> int:
        return self.x.shape[0]


@dataclass(frozen=True)
class DataInfo:
    """What a model needs to know about its data to build itself.

    ``batch_size`` is set when the model is built for training: the examples one objective
    call receives (this process's part of ``train.batch_size`` under DDP; the epoch's last
    batches take the images left, so they may differ). A model may check it in
    ``__init__`` (a minibatch statistic that needs several examples); it is ``None`` when
    the model is built to be loaded for sampling or scoring, so nothing a checkpoint holds
    may depend on it.
    """

    name: str
    shape: tuple[int, int, int]  # (channels, height, width)
    num_classes: int | None = None
    batch_size: int | None = None

    @property
    def dims(self) -> int:
        c, h, w = self.shape
        return c * h * w


@dataclass
class LossTerms:
    """An objective's result for one batch.

    ``loss`` is the scalar the optimizer minimises; ``terms`` are named scalars
    (batch means, in nats where they are log-likelihoods) that genkit logs per
    epoch. Terms are tensors so that logging never forces a host sync.

    ``carry`` (optional) is handed to the next update's objective, which is
    then called as ``objective(batch, carry)``: a GAN's discriminator objective
    carries its fake batch, graph and all, to the generator's objective. Only
    the last repeat's carry is passed on, and nothing carries over to the next
    iteration.
    """

    loss: torch.Tensor
    terms: dict[str, torch.Tensor] = field(default_factory=dict)
    carry: Any = None


class Objective(Protocol):
    """A loss over a batch: ``objective(batch) -> LossTerms``, or
    ``objective(batch, carry) -> LossTerms`` after an update that set a carry."""

    def __call__(self, batch: Batch, *carry: Any) -> LossTerms: ...


@dataclass
class Update:
    """One optimizer step of a training iteration.

    The step's backward pass computes gradients of its optimizer's parameters
    only: a generator's loss may run the discriminator without touching the
    discriminator's gradients, and no objective toggles ``requires_grad``.

    Args:
        optimizer: name of an optimizer from :meth:`GenerativeModel.configure_optimizers`.
        objective: the loss to minimise with that optimizer.
        repeats: how many steps of this update each iteration takes (a GAN's
            discriminator steps per generator step); every repeat receives the
            same carry from the update before.
        fresh_batch: each repeat draws the next batch of the epoch (a WGAN-GP critic sees new
            real images at every step). Without it an update works on the batch drawn last
            (the iteration's first if none was drawn yet), so the update after a fresh one
            sees the batch its carry was made from. An iteration takes as many batches of
            ``train.batch_size`` as it draws, and an epoch still shows each image once.
        validate_with_grad: the objective takes gradients itself (a gradient penalty's
            ``torch.autograd.grad``), so validation runs it with autograd on instead of under
            ``torch.no_grad()``; parameters' ``.grad`` are never touched.
    """

    optimizer: str
    objective: Objective
    repeats: int = 1
    fresh_batch: bool = False
    validate_with_grad: bool = False


class GenerativeModel(nn.Module):
    """Base class of every genkit model.

    Subclasses define their networks in ``__init__`` and implement
    :meth:`updates`. Everything else has a sensible default.
    """

    #: Name of the logged term (lower is better) whose validation value picks
    #: the best checkpoint; None: no term does, and only ``last.safetensors`` is kept.
    monitor: str | None = "loss"
    #: What the model is conditioned on: ``None``, ``"label"``, or a model-specific kind.
    conditioning: str | None = None
    #: For a model with a likelihood: the data it is the likelihood of, one of
    #: ``genkit.capabilities.LIKELIHOOD_SPACES`` ("binarized", "8-bit", "continuous").
    likelihood_space: str | None = None
    #: For a model with a likelihood: importance or dequantization samples per image that
    #: ``nll``, ``bpd`` and ``score --ood`` take when ``--samples`` is not given (the VAE's 1000
    #: importance samples; 1 for an exact likelihood).
    likelihood_samples: int = 1
    #: Name of the sampler that ``genkit sample``, the training-time grids and the
    #: sample-quality metrics use unless ``--sampler`` names another. ``None``: the
    #: built-in ``prior`` sampler for a :class:`~genkit.LatentModel`, and no sampling
    #: for any other model. May be set per instance (it can depend on the config).
    default_sampler: str | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _accept_legacy_prepare_batch(cls)

    def __init__(self, config: BaseModel, data: DataInfo):
        super().__init__()
        self.config = config
        self.data_info = data

    # -- training ------------------------------------------------------------
    def prepare_batch(self, batch: Batch, *, generator: torch.Generator | None = None, **deprecated: Any) -> Batch:
        """Turn raw ``uint8`` images into what the objectives consume, on the device.

        Called once per batch, vectorised, the same way in training and
        evaluation. ``generator`` is set when the result must be reproducible
        (validation, scores); training uses the global RNG, whose state
        checkpoints save. A model whose preparation differs in training reads
        ``self.training``. The default scales pixels to [0, 1].

        ``train=`` (contract 1.0's keyword, which an override may still pass to
        ``super().prepare_batch``) is accepted with a deprecation warning and ignored.
        """
        _accept_deprecated_train(self, deprecated)
        return Batch(x=batch.x.float().div_(255.0), y=batch.y, condition=batch.condition)

    def updates(self) -> list[Update]:
        """The optimizer steps of one training iteration, in order."""
        raise NotImplementedError

    def configure_optimizers(self, lr: float) -> dict[str, torch.optim.Optimizer]:
        """Optimizers by name; the default is one Adam over all parameters."""
        return {"model": adam(self.parameters(), lr=lr)}

    def validation_terms(self, batch: Batch) -> dict[str, torch.Tensor]:
        """Named terms on held-out data, called under ``torch.no_grad()`` in ``eval()`` mode;
        defaults to every objective's terms, once each on the same batch, each update's carry
        passed on as in training, and autograd on for an update that says ``validate_with_grad``."""
        terms: dict[str, torch.Tensor] = {}
        carry = None
        for update in self.updates():
            with torch.enable_grad() if update.validate_with_grad else contextlib.nullcontext():
                result = update.objective(batch) if carry is None else update.objective(batch, carry)
            found = result.terms or {f"loss_{update.optimizer}": result.loss}
            terms.update({name: value.detach() for name, value in found.items()})
            carry = result.carry
        return terms

    def after_step(self, step: int, update: Update) -> None:
        """Called after every optimizer step of training, once per repeat, with the training
        step it belongs to (1 for the run's first, counting on across resumes) and the
        :class:`Update` whose optimizer just stepped.

        It runs under ``torch.no_grad()``, outside autocast and ``torch.compile``, on every
        process of a DDP job alike, and before a checkpoint can be taken, so state it keeps
        in buffers or parameters (an exponential moving average of the weights) is saved and
        resumed exactly. A GAN's discriminator steps and generator step each call it: check
        ``update.optimizer``. Under fp16 a step the gradient scaler skipped still calls it.
        The default does nothing.
        """

    def on_train_start(self, batch: Batch) -> None:
        """Called once before the first step of a fresh run with a prepared batch
        (data-dependent initialisation, such as actnorm, goes here)."""

    # -- description ---------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        """A few facts for ``genkit info``; extend in subclasses."""
        return {"parameters": sum(p.numel() for p in self.parameters())}


def _accept_deprecated_train(model: GenerativeModel, given: dict[str, Any]) -> None:
    """``super().prepare_batch(batch, train=..., generator=...)`` from a contract-1.0 override:
    accepted, with a warning; any other unknown keyword is the usual TypeError."""
    unknown = sorted(set(given) - {"train"})
    if unknown:
        raise TypeError(f"GenerativeModel.prepare_batch() got an unexpected keyword argument '{unknown[0]}'")
    if "train" in given:
        warn_deprecated(
            "passing train= to GenerativeModel.prepare_batch (super().prepare_batch(batch, train=...))",
            "call super().prepare_batch(batch, generator=generator) and read self.training where preparation differs "
            "in training",
            since="1.1",
            removed_in="2.0",
            user=model,
            stacklevel=4,
        )


def _accept_legacy_prepare_batch(cls: type) -> None:
    """Keep plugins written for the older ``prepare_batch(batch, *, train, generator=None)`` working.

    genkit no longer passes ``train`` (preparation is the same in training and
    evaluation; a model that must differ reads ``self.training``). A subclass whose
    own ``prepare_batch`` still names ``train`` gets it filled in from ``self.training``,
    with a deprecation warning when the class is defined.
    """
    method = cls.__dict__.get("prepare_batch")
    if method is None or "train" not in inspect.signature(method).parameters:
        return
    warn_deprecated(
        f"{cls.__qualname__}.prepare_batch naming a train argument (contract 1.0's prepare_batch(batch, *, train, "
        "generator=None))",
        "define prepare_batch(self, batch, *, generator=None) and read self.training where preparation differs in "
        "training",
        since="1.1",
        removed_in="2.0",
        user=cls,
        stacklevel=4,
    )

    @functools.wraps(method)
    def prepare_batch(self, batch, *, generator=None, **kwargs):
        kwargs.setdefault("train", self.training)
        return method(self, batch, generator=generator, **kwargs)

    cls.prepare_batch = prepare_batch
