"""Ae: a plain autoencoder, and a Gaussian over its latent codes for sampling.

The encoder and decoder are MLPs trained on reconstruction alone. While it
trains, the model keeps a running mean and covariance of the codes it produces;
genkit's prior sampler draws z ~ N(0, I), and :meth:`Ae.decode` maps z
through that Gaussian (mean + L z, with L the Cholesky factor of the
covariance), so samples land where real codes lie. :meth:`Ae.encode` is the
inverse map, so interpolation between two images runs in the same coordinates.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

import genkit
from genkit import Batch, LossTerms, Update

#: Largest image (channels x height x width) the MLP takes: its first layer has
#: this many inputs per hidden unit.
MAX_INPUTS = 64 * 64 * 4


class AeConfig(BaseModel):
    """Settings of ae; unknown keys are errors (``extra="forbid"``)."""

    model_config = ConfigDict(extra="forbid")

    latent_dim: int = Field(16, gt=0, description="size of the latent code; 2 gives a drawable manifold")
    hidden: int = Field(256, gt=0, description="units in each of the two hidden layers of encoder and decoder")
    stats_momentum: float = Field(0.02, gt=0, le=1, description="weight of each batch in the running mean and covariance of the codes")


def accepts(data: genkit.DataInfo) -> str | None:
    """Why ae cannot train on ``data``, or None: any shape up to MAX_INPUTS values."""
    if data.dims > MAX_INPUTS:
        c, h, w = data.shape
        return f"an MLP on {c}x{h}x{w} = {data.dims} inputs is too large (at most {MAX_INPUTS}); resize, e.g. folder:PATH?size=64"
    return None


class Ae(genkit.GenerativeModel):
    """x -> MLP -> code -> MLP -> Bernoulli logits of x, with a Gaussian fitted to the codes."""

    monitor = "recon"

    def __init__(self, config: AeConfig, data: genkit.DataInfo):
        super().__init__(config, data)
        d, h, k = data.dims, config.hidden, config.latent_dim
        self.encoder = nn.Sequential(nn.Linear(d, h), nn.ReLU(), nn.Linear(h, h), nn.ReLU(), nn.Linear(h, k))
        self.decoder = nn.Sequential(nn.Linear(k, h), nn.ReLU(), nn.Linear(h, h), nn.ReLU(), nn.Linear(h, d))
        self.latent_shape = (k,)
        # Buffers, not parameters: saved in checkpoints, never touched by the optimizer.
        self.register_buffer("code_mean", torch.zeros(k))
        self.register_buffer("code_cov", torch.eye(k))

    # -- training --------------------------------------------------------------
    # prepare_batch is genkit's default: uint8 pixels to floats in [0, 1].

    def reconstruction(self, batch: Batch) -> LossTerms:
        """Per-pixel binary cross-entropy of the reconstruction, summed per image (nats)."""
        x = batch.x.flatten(1)
        codes = self.encoder(x)
        recon = F.binary_cross_entropy_with_logits(self.decoder(codes), x, reduction="none").sum(1).mean()
        if self.training:
            self._track(codes.detach())
        return LossTerms(loss=recon, terms={"recon": recon.detach()})

    def updates(self) -> list[Update]:
        return [Update("model", self.reconstruction)]

    def on_train_start(self, batch: Batch) -> None:
        """Start the running statistics from the first batch instead of N(0, I)."""
        with torch.no_grad():
            self._track(self.encoder(batch.x.flatten(1)), momentum=1.0)

    @torch.no_grad()
    def _track(self, codes: torch.Tensor, momentum: float | None = None) -> None:
        m = self.config.stats_momentum if momentum is None else momentum
        mean = codes.mean(0)
        centered = codes - mean
        cov = centered.T @ centered / max(1, codes.shape[0] - 1)
        self.code_mean.lerp_(mean, m)
        self.code_cov.lerp_(cov, m)

    # -- the latent space (genkit.LatentModel and genkit.EncoderModel) ---------
    def _cholesky(self) -> torch.Tensor:
        k = self.code_cov.shape[0]
        jitter = 1e-5 * self.code_cov.diagonal().mean().clamp_min(1e-6)
        return torch.linalg.cholesky(self.code_cov + jitter * torch.eye(k, device=self.code_cov.device))

    def decode(self, z: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        """Standard-normal z to images in [0, 1]: z is placed by the codes' Gaussian, then decoded."""
        codes = self.code_mean + z.flatten(1) @ self._cholesky().T
        return torch.sigmoid(self.decoder(codes)).view(-1, *self.data_info.shape)

    def encode(self, batch: Batch) -> torch.Tensor:
        """Images to the standard-normal coordinates :meth:`decode` takes."""
        centered = self.encoder(batch.x.flatten(1)) - self.code_mean
        return torch.linalg.solve_triangular(self._cholesky(), centered.T, upper=False).T

    def describe(self):
        return {**super().describe(), "latent_dim": self.config.latent_dim, "hidden": self.config.hidden}
