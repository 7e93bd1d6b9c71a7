"""The GAN as a genkit model: two networks, two optimizers, two alternating updates.

Training is the discriminator update (``d_steps`` times) followed by the
generator update, expressed as two :class:`genkit.Update` steps, so the core's
one training loop runs it like any other model. The discriminator's objective
returns the fake batch it drew (with its graph) as its carry, and the
generator's objective receives it: the generator's parameters have not changed
in between, so the generator step need not run the generator again.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field

import genkit
from genkit import Batch, LossTerms, Update

from .networks import build_networks


class GANConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    architecture: Literal["mlp", "dcgan"] = Field(
        "mlp", description="mlp: the classic fully connected pair; dcgan: convolutional"
    )
    latent_dim: int = Field(100, gt=0, description="size of the standard normal latent z")
    generator_loss: Literal["non-saturating", "saturating"] = Field(
        "non-saturating",
        description=(
            "non-saturating: minimise -log D(G(z)); saturating: minimise log(1 - D(G(z))) (the minimax form, "
            "which stalls early)"
        ),
    )
    d_steps: int = Field(1, gt=0, description="discriminator updates per generator update")
    channels: int = Field(64, gt=0, description="feature maps of the first convolution (dcgan only)")
    conditional: bool = Field(
        False,
        description=(
            "class-conditional GAN: both networks also take the label, through a learned embedding, and "
            "sampling takes --label"
        ),
    )
    label_embedding: int = Field(10, gt=0, description="size of the generator's label embedding (conditional only)")
    beta1: float = Field(0.5, ge=0, lt=1, description="Adam beta1 of both optimizers")
    beta2: float = Field(0.999, ge=0, lt=1, description="Adam beta2 of both optimizers")


class GAN(genkit.GenerativeModel):
    """A generator G(z) and a discriminator D(x) giving a logit of 'real'."""

    # GAN losses say how the two networks are doing against each other, not how
    # good the samples are, so no logged term picks a "best" checkpoint; sample
    # quality is measured with the judge's metrics instead.
    monitor = None

    def __init__(self, config: GANConfig, data: genkit.DataInfo):
        super().__init__(config, data)
        if config.conditional:
            if not data.num_classes:
                raise genkit.GenkitError(f"model.conditional needs a labelled dataset; {data.name} has no classes")
            self.conditioning = "label"
        classes = data.num_classes if config.conditional else None
        self.generator, self.discriminator = build_networks(
            config.architecture, config.latent_dim, data.shape, config.channels, classes, config.label_embedding
        )
        self.latent_shape = (config.latent_dim,)

    def _labelled(self, network, inputs: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """Run a network, passing the labels along when the GAN is conditional."""
        if self.conditioning is None:
            return network(inputs)
        if labels is None:
            raise genkit.GenkitError("this GAN is class-conditional; pass a label (for example --label 7)")
        return network(inputs, labels.long())

    # -- data ------------------------------------------------------------------
    def prepare_batch(self, batch: Batch, *, generator=None) -> Batch:
        """uint8 pixels to [-1, 1], the range of the generator's tanh."""
        condition = batch.y if self.conditioning == "label" else batch.condition
        if self.conditioning == "label" and condition is None:
            raise genkit.GenkitError("a class-conditional GAN trains on labelled data, and this batch has no labels")
        return Batch(x=batch.x.float().mul_(2.0 / 255.0).sub_(1.0), y=batch.y, condition=condition)

    # -- sampling ----------------------------------------------------------------
    def decode(self, z: torch.Tensor, condition=None) -> torch.Tensor:
        """Generator output mapped from [-1, 1] to images in [0, 1]."""
        return self._labelled(self.generator, z, condition).add(1.0).mul_(0.5)

    def _fake(self, n: int, device: torch.device, labels: torch.Tensor | None) -> torch.Tensor:
        """Fakes for a batch; a conditional GAN draws them for the real batch's labels."""
        return self._labelled(self.generator, torch.randn(n, self.config.latent_dim, device=device), labels)

    # -- training ----------------------------------------------------------------
    def configure_optimizers(self, lr: float) -> dict[str, torch.optim.Optimizer]:
        betas = (self.config.beta1, self.config.beta2)
        return {
            "discriminator": genkit.adam(self.discriminator.parameters(), lr=lr, betas=betas),
            "generator": genkit.adam(self.generator.parameters(), lr=lr, betas=betas),
        }

    def updates(self) -> list[Update]:
        return [
            Update("discriminator", self.discriminator_loss, repeats=self.config.d_steps),
            Update("generator", self.generator_loss),
        ]

    def discriminator_loss(self, batch: Batch) -> LossTerms:
        """-log D(x) - log(1 - D(G(z))): binary cross-entropy of real against fake.

        Carries the fake batch, graph and all, to :meth:`generator_loss`.
        """
        real, labels = batch.x, batch.condition
        fake = self._fake(real.shape[0], real.device, labels)
        detached = fake.detach()
        if getattr(self.discriminator, "shares_batch", False):
            both = None if labels is None else torch.cat([labels, labels])
            real_logit, fake_logit = self._labelled(self.discriminator, torch.cat([real, detached]), both).split(
                real.shape[0]
            )
        else:
            real_logit, fake_logit = (
                self._labelled(self.discriminator, real, labels),
                self._labelled(self.discriminator, detached, labels),
            )
        # BCE(l, 1) = softplus(-l), BCE(l, 0) = softplus(l); the logit form is stable.
        loss = F.softplus(-real_logit).mean() + F.softplus(fake_logit).mean()
        terms = {
            "d_loss": loss.detach(),
            "d_real": torch.sigmoid(real_logit.detach()).mean(),
            "d_fake": torch.sigmoid(fake_logit.detach()).mean(),
        }
        return LossTerms(loss=loss, terms=terms, carry=fake)

    def generator_loss(self, batch: Batch, fake: torch.Tensor) -> LossTerms:
        """Non-saturating -log D(G(z)) by default; the saturating log(1 - D(G(z))) if configured.

        ``fake`` is the discriminator step's fake batch; this step's backward pass
        reaches only the generator's parameters (the core computes gradients of
        the stepping optimizer's parameters alone).
        """
        logit = self._labelled(self.discriminator, fake, batch.condition)
        if self.config.generator_loss == "non-saturating":
            loss = F.softplus(-logit).mean()
        else:
            loss = -F.softplus(logit).mean()  # log(1 - sigmoid(l)) = -softplus(l)
        return LossTerms(loss=loss, terms={"g_loss": loss.detach()})

    def describe(self):
        count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
        return {
            **super().describe(),
            "architecture": self.config.architecture,
            "latent_dim": self.config.latent_dim,
            "generator_parameters": count(self.generator),
            "discriminator_parameters": count(self.discriminator),
            "generator_loss": self.config.generator_loss,
            "d_steps": self.config.d_steps,
            "conditional": self.config.conditional,
        }
