"""The Bernoulli MLP VAE: encoder q(z|x), decoder p(x|z) on logits, standard normal prior."""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

import genkit
from genkit import Batch, LossTerms, Update


class VAEConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    latent_dim: int = Field(20, gt=0, description="size of z; 2 gives a drawable manifold")
    hidden: int = Field(500, gt=0, description="units in the hidden layer of encoder and decoder")
    activation: Literal["relu", "tanh"] = Field("relu", description="hidden nonlinearity")
    iw_chunk: int = Field(50_000, gt=0, description="decoder rows per pass when estimating log p(x) with many samples")


class BernoulliVAE(genkit.GenerativeModel):
    """x -> hidden -> (mu, log sigma^2) of q(z|x); z -> hidden -> Bernoulli logits of p(x|z)."""

    monitor = "neg_elbo"
    likelihood_samples = 1000  # K of the importance-weighted estimate of log p(x)
    likelihood_space = genkit.BINARIZED  # log p of the binarized image: bits per binarized pixel, not bpd

    def __init__(self, config: VAEConfig, data: genkit.DataInfo):
        super().__init__(config, data)
        d, h, k = data.dims, config.hidden, config.latent_dim
        act = nn.ReLU if config.activation == "relu" else nn.Tanh
        # One 2k-wide head for (mu, log sigma^2): the same model as two heads, in one matmul.
        self.encoder = nn.Sequential(nn.Linear(d, h), act(), nn.Linear(h, 2 * k))
        self.decoder = nn.Sequential(nn.Linear(k, h), act(), nn.Linear(h, d))
        self.latent_shape = (k,)

    # -- data ------------------------------------------------------------------
    def prepare_batch(self, batch: Batch, *, generator=None) -> Batch:
        """Dynamic binarization: pixel i is 1 with probability x_i / 255, drawn afresh every pass."""
        return Batch(x=genkit.binarize(batch.x.flatten(1), generator), y=batch.y, condition=batch.condition)

    # -- networks --------------------------------------------------------------
    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        return mu, logvar

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def decode(self, z: torch.Tensor, condition=None) -> torch.Tensor:
        """Bernoulli means as images in [0, 1]."""
        return torch.sigmoid(self.decode_logits(z)).view(-1, *self.data_info.shape)

    def encode(self, batch: Batch) -> torch.Tensor:
        return self.posterior(batch.x)[0]

    # -- objective -------------------------------------------------------------
    def terms(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-example reconstruction term -log p(x|z) (one z sample) and KL(q(z|x) || p(z)), in nats."""
        mu, logvar = self.posterior(x)
        z = genkit.reparameterize(mu, logvar)
        recon = F.binary_cross_entropy_with_logits(self.decode_logits(z), x, reduction="none").sum(1)
        return recon, genkit.gaussian_kl(mu, logvar)

    def negative_elbo(self, batch: Batch) -> LossTerms:
        recon, kl = self.terms(batch.x)
        recon, kl = recon.mean(), kl.mean()
        loss = recon + kl
        return LossTerms(loss=loss, terms={"neg_elbo": loss.detach(), "recon": recon.detach(), "kl": kl.detach()})

    def updates(self) -> list[Update]:
        return [Update("model", self.negative_elbo)]

    def elbo(self, batch: Batch) -> torch.Tensor:
        recon, kl = self.terms(batch.x)
        return -(recon + kl)

    def log_likelihood(self, batch: Batch, samples: int) -> torch.Tensor:
        """Importance-weighted estimate of log p(x) with K = ``samples`` draws from q(z|x)."""
        x = batch.x
        mu, logvar = self.posterior(x)

        def log_px_given_z(z):  # [s, b, k] -> [s, b]
            logits = self.decode_logits(z)
            return -F.binary_cross_entropy_with_logits(logits, x.expand_as(logits), reduction="none").sum(-1)

        return genkit.importance_weighted_log_likelihood(mu, logvar, log_px_given_z, samples, self.config.iw_chunk)

    def describe(self):
        return {
            **super().describe(),
            "latent_dim": self.config.latent_dim,
            "hidden": self.config.hidden,
            "decoder": "Bernoulli (logits)",
        }
