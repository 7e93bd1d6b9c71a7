"""The genkit model around the flow: preprocessing, maximum-likelihood objective,
exact likelihood in bits per dimension, sampling and encoding."""

from __future__ import annotations

import torch

import genkit
from genkit import Batch, LossTerms, Update

from .config import RealNVPConfig
from .flow import MultiScaleFlow
from .preprocess import (
    dequantize,
    inverse_logit,
    logit_transform,
    pixel_levels,
    standard_normal_logpdf,
)


class RealNVP(genkit.GenerativeModel):
    """A normalizing flow on logit-transformed, dequantized 8-bit images.

    The latent space has the data's shape; decode is the inverse flow and
    encode the forward flow, both exact.
    """

    monitor = "bpd"
    likelihood_space = genkit.EIGHT_BIT  # log P of the 8-bit image (the dequantization bound)
    #: Dequantization noise draws averaged by ``genkit score`` unless ``--samples`` says otherwise.
    likelihood_samples = 4

    def __init__(self, config: RealNVPConfig, data: genkit.DataInfo):
        super().__init__(config, data)
        self.flow = MultiScaleFlow(data.shape, config)
        self.latent_shape = tuple(data.shape)

    # -- data ------------------------------------------------------------------
    def prepare_batch(self, batch: Batch, *, generator=None) -> Batch:
        """uint8 pixels to dequantized values in [0, 1): a fresh uniform draw every pass."""
        return Batch(x=dequantize(batch.x, generator), y=batch.y, condition=batch.condition)

    # -- likelihood ------------------------------------------------------------
    def log_density(self, y: torch.Tensor) -> torch.Tensor:
        """Per-example log p of the dequantized pixels on the 256-level scale, in nats:
        the dequantization bound of log P(x) for one noise draw."""
        v, logdet_logit = logit_transform(y, self.config.alpha)
        z, logdet_flow = self.flow(v)
        return standard_normal_logpdf(z) + logdet_flow + logdet_logit - genkit.discretization_nats(self.data_info.dims)

    def bits_per_dim(self, batch: Batch) -> LossTerms:
        bpd = genkit.nats_to_bpd(-self.log_density(batch.x).mean(), self.data_info.dims)
        return LossTerms(loss=bpd, terms={"bpd": bpd.detach()})

    def updates(self) -> list[Update]:
        return [Update("model", self.bits_per_dim)]

    def log_likelihood(self, batch: Batch, samples: int) -> torch.Tensor:
        """log P(x) of the 8-bit images in nats ``[B]``, with the dequantization bound
        averaged over ``samples`` noise draws: the batch's own draw, then draws from a
        generator seeded by the images, so scores repeat exactly."""
        total = self.log_density(batch.x)
        if samples > 1:
            levels = pixel_levels(batch.x)
            gen = torch.Generator(device=levels.device).manual_seed(int(levels.sum().item()))
            for _ in range(samples - 1):
                total = total + self.log_density(dequantize(levels.to(torch.uint8), gen))
        return total / samples

    # -- latent space --------------------------------------------------------------
    def decode(self, z: torch.Tensor, condition=None) -> torch.Tensor:
        """Latents (any temperature) through the inverse flow to images in [0, 1]."""
        return inverse_logit(self.flow.inverse(z), self.config.alpha)

    def encode(self, batch: Batch) -> torch.Tensor:
        z, _ = self.flow(logit_transform(batch.x, self.config.alpha)[0])
        return z

    # -- training --------------------------------------------------------------
    @torch.no_grad()
    def on_train_start(self, batch: Batch) -> None:
        """Data-dependent actnorm initialisation: each actnorm sets itself from the
        activations it sees in one forward pass over ``batch``."""
        for norm in self.flow.actnorms():
            norm.init_pending = True
        self.log_density(batch.x)

    def describe(self):
        cfg = self.config
        steps = (
            f"{cfg.glow_steps} glow steps"
            if cfg.step == "glow"
            else f"{cfg.checkerboard_couplings} checkerboard + {cfg.channel_couplings} channel couplings"
        )
        return {
            **super().describe(),
            "architecture": f"{cfg.levels} scales x {steps}, hidden {cfg.hidden}, {cfg.res_blocks} res blocks",
            "alpha": cfg.alpha,
        }
