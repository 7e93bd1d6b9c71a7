"""The conditional VAE (Sohn, Lee and Yan 2015, as Doersch 2016 describes it).

Encoder q(z | x, c), decoder p(x | z, c) with Bernoulli pixels, prior N(0, I)
independent of c. The bound it maximises is on the conditional likelihood:
log p(x | c) >= E_q[log p(x | z, c)] - KL(q(z | x, c) || N(0, I)).
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field

import genkit
from genkit import Batch, LossTerms, Update

from . import conditions
from .networks import mlp


class CVAEConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    condition: Literal["label", "column"] = Field(
        "label",
        description="what the model is conditioned on: the class label, or the binarized middle column of the image",
    )
    latent_dim: int = Field(20, gt=0, description="size of z")
    hidden: int = Field(500, gt=0, description="width of every hidden layer")
    layers: int = Field(1, gt=0, description="hidden layers in the encoder and in the decoder")
    activation: Literal["relu", "tanh"] = Field("relu", description="hidden nonlinearity")
    iw_chunk: int = Field(
        50_000, gt=0, description="decoder rows per pass when estimating log p(x|c) with many samples"
    )


class ConditionalVAE(genkit.GenerativeModel):
    """[x, c] -> MLP -> (mu, log sigma^2) of q(z|x,c); [z, c] -> MLP -> Bernoulli logits of p(x|z,c)."""

    monitor = "neg_elbo"
    likelihood_samples = 1000
    likelihood_space = genkit.BINARIZED

    def __init__(self, config: CVAEConfig, data: genkit.DataInfo):
        super().__init__(config, data)
        self.conditioning = config.condition
        d, k = data.dims, config.latent_dim
        c = conditions.condition_size(config.condition, data)
        self.encoder = mlp(d + c, config.hidden, 2 * k, config.layers, config.activation)
        self.decoder = mlp(k + c, config.hidden, d, config.layers, config.activation)
        self.latent_shape = (k,)

    def prepare_batch(self, batch: Batch, *, generator=None) -> Batch:
        return conditions.prepare(self.conditioning, batch, generator)

    # -- networks --------------------------------------------------------------
    def _features(self, condition: torch.Tensor | None, rows: int) -> torch.Tensor:
        feats = conditions.condition_features(self.conditioning, condition, self.data_info)
        return feats.expand(rows, -1) if feats.shape[0] == 1 else feats

    def posterior(self, x: torch.Tensor, condition: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.encoder(torch.cat([x, self._features(condition, x.shape[0])], 1)).chunk(2, dim=1)
        return mu, logvar

    def decode_logits(self, z: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        return self.decoder(torch.cat([z, features], -1))

    def decode(self, z: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        """Bernoulli means of p(x | z, c) as images in [0, 1]; one condition row is shared by all z."""
        feats = self._features(condition, z.shape[0])
        return torch.sigmoid(self.decode_logits(z, feats)).view(-1, *self.data_info.shape)

    def encode(self, batch: Batch) -> torch.Tensor:
        return self.posterior(batch.x, batch.condition)[0]

    def complete(self, batch: Batch, generator: torch.Generator | None = None) -> torch.Tensor:
        """One completion per example: z drawn from the prior, decoded given the example's condition."""
        z = torch.randn((len(batch), *self.latent_shape), generator=generator, device=batch.x.device)
        return self.decode(z, batch.condition)

    def observed(self, batch: Batch) -> torch.Tensor:
        """The observed column drawn as images (genkit.CompletionModel: with ``complete``, what a
        column-conditional model offers; a label-conditional one completes nothing)."""
        return conditions.observed_picture(self.conditioning, batch, self.data_info)

    # -- objective -------------------------------------------------------------
    def terms(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-example -log p(x|z,c) (one z sample) and KL(q(z|x,c) || N(0, I)), in nats."""
        x = batch.x
        feats = self._features(batch.condition, x.shape[0])
        mu, logvar = self.encoder(torch.cat([x, feats], 1)).chunk(2, dim=1)
        z = genkit.reparameterize(mu, logvar)
        recon = F.binary_cross_entropy_with_logits(self.decode_logits(z, feats), x, reduction="none").sum(1)
        return recon, genkit.gaussian_kl(mu, logvar)

    def negative_elbo(self, batch: Batch) -> LossTerms:
        recon, kl = self.terms(batch)
        recon, kl = recon.mean(), kl.mean()
        loss = recon + kl
        return LossTerms(loss=loss, terms={"neg_elbo": loss.detach(), "recon": recon.detach(), "kl": kl.detach()})

    def updates(self) -> list[Update]:
        return [Update("model", self.negative_elbo)]

    def elbo(self, batch: Batch) -> torch.Tensor:
        """Per-example lower bound on log p(x | c), in nats."""
        recon, kl = self.terms(batch)
        return -(recon + kl)

    def log_likelihood(self, batch: Batch, samples: int) -> torch.Tensor:
        """Importance-weighted estimate of log p(x | c) with ``samples`` draws from q(z | x, c)."""
        x = batch.x
        feats = self._features(batch.condition, x.shape[0])
        mu, logvar = self.encoder(torch.cat([x, feats], 1)).chunk(2, dim=1)

        def log_px_given_z(z):  # [s, b, k] -> [s, b]
            logits = self.decode_logits(z, feats.expand(z.shape[0], -1, -1))
            return -F.binary_cross_entropy_with_logits(logits, x.expand_as(logits), reduction="none").sum(-1)

        return genkit.importance_weighted_log_likelihood(mu, logvar, log_px_given_z, samples, self.config.iw_chunk)

    def describe(self):
        cfg = self.config
        return {
            **super().describe(),
            "condition": cfg.condition,
            "latent_dim": cfg.latent_dim,
            "hidden": cfg.hidden,
            "layers": cfg.layers,
            "decoder": "Bernoulli (logits)",
        }
