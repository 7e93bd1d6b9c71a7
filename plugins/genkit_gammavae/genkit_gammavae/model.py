"""The learned-gamma VAE: a Gaussian decoder N(mu_x(z), gamma I) whose variance gamma is learned.

Data: 8-bit images, dequantized with uniform noise to y = (x + u) / 256 in [0, 1)
and zero-padded to a side that is a multiple of 8. Every likelihood term is
over the original (unpadded) pixels only, so the figures are per image pixel
and comparable with a flow's bits per dimension on the same images.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field

import genkit
from genkit import Batch, LossTerms, Update

from .networks import ConvDecoder, ConvEncoder

LOG_2PI = math.log(2 * math.pi)


class GammaVAEConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kappa: int = Field(
        64,
        gt=0,
        description="width of the fully connected feature between the convolutions and z (the paper sweeps 16 to 512)",
    )
    latent_dim: int = Field(64, gt=0, description="size of z")
    width: int = Field(64, gt=0, description="channels of the first convolution; the next two have 2x and 4x")
    init_log_gamma: float = Field(
        -5.0,
        description=(
            "initial log of the decoder variance gamma (-5: gamma 0.0067, below the 0.086 squared error of the "
            "mean image; from gamma = 1 the decoder settles on the mean image and the KL falls to 0 first)"
        ),
    )
    gamma_lr_scale: float = Field(
        10.0,
        gt=0,
        description=(
            "learning rate of log gamma relative to the networks' (a faster gamma lets short runs reach its "
            "fitted value)"
        ),
    )
    likelihood_samples: int = Field(100, gt=0, description="default K of the importance-weighted log p(x) estimate")
    iw_chunk: int = Field(4096, gt=0, description="decoder rows per pass when estimating log p(x) with many samples")


def gaussian_log_density(x: torch.Tensor, mean: torch.Tensor, log_gamma: torch.Tensor) -> torch.Tensor:
    """log N(x; mean, gamma I) summed over the last dimension (broadcasting over the rest).

    Args:
        x, mean: ``[..., D]``.
        log_gamma: scalar tensor, the log of the shared variance.
    """
    d = x.shape[-1]
    sq = (x - mean).pow(2).sum(-1)
    return -0.5 * (sq * torch.exp(-log_gamma) + d * (log_gamma + LOG_2PI))


class GammaVAE(genkit.GenerativeModel):
    """Convolutional VAE with a Gaussian decoder of learned variance gamma (Dai and Wipf 2019)."""

    monitor = "neg_elbo"
    likelihood_space = genkit.EIGHT_BIT  # log P of the 8-bit image: dequantized density minus D log 256

    def __init__(self, config: GammaVAEConfig, data: genkit.DataInfo):
        super().__init__(config, data)
        c, h, w = data.shape
        self.side = 8 * math.ceil(max(h, w) / 8)
        self.top, self.left = (self.side - h) // 2, (self.side - w) // 2
        args = (c, self.side, config.width, config.kappa, config.latent_dim)
        self.encoder = ConvEncoder(*args)
        self.decoder = ConvDecoder(*args)
        self.log_gamma = torch.nn.Parameter(torch.tensor(float(config.init_log_gamma)))
        self.latent_shape = (config.latent_dim,)
        self.likelihood_samples = config.likelihood_samples

    # -- data ------------------------------------------------------------------
    def prepare_batch(self, batch: Batch, *, generator=None) -> Batch:
        """Uniform dequantization (x + u) / 256, u ~ U[0, 1), then zero padding to the network's side."""
        x = batch.x.float()
        u = torch.rand(x.shape, device=x.device, generator=generator)
        y = x.add_(u).div_(genkit.LEVELS)
        c, h, w = self.data_info.shape
        pad = (self.left, self.side - w - self.left, self.top, self.side - h - self.top)
        return Batch(x=F.pad(y, pad), y=batch.y, condition=batch.condition)

    def crop(self, images: torch.Tensor) -> torch.Tensor:
        """The original pixels of padded images ``[..., side, side]``."""
        _, h, w = self.data_info.shape
        return images[..., self.top : self.top + h, self.left : self.left + w]

    # -- networks --------------------------------------------------------------
    def decode(self, z: torch.Tensor, condition=None) -> torch.Tensor:
        """The decoder mean mu_x(z) as images in [0, 1] at the data's size."""
        return self.crop(self.decoder(z))

    def encode(self, batch: Batch) -> torch.Tensor:
        return self.encoder(batch.x)[0]

    @property
    def gamma(self) -> torch.Tensor:
        return self.log_gamma.exp()

    # -- objective -------------------------------------------------------------
    def terms(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Per-example -log p(y|z) (one z sample), KL(q(z|y) || p(z)) in nats, and the squared error."""
        mu, logvar = self.encoder(y)
        z = genkit.reparameterize(mu, logvar)
        target = self.crop(y).flatten(1)
        mean = self.decode(z).flatten(1)
        recon = -gaussian_log_density(target, mean, self.log_gamma)
        return recon, genkit.gaussian_kl(mu, logvar), (target - mean).pow(2).mean(1)

    def negative_elbo(self, batch: Batch) -> LossTerms:
        """Negative ELBO of the dequantized data (a continuous density on [0, 1], so it may be negative)."""
        recon, kl, mse = self.terms(batch.x)
        recon, kl = recon.mean(), kl.mean()
        loss = recon + kl
        terms = {
            "neg_elbo": loss.detach(),
            "recon": recon.detach(),
            "kl": kl.detach(),
            "mse": mse.mean().detach(),
            "gamma": self.gamma.detach(),
        }
        return LossTerms(loss=loss, terms=terms)

    def updates(self) -> list[Update]:
        return [Update("model", self.negative_elbo)]

    def configure_optimizers(self, lr: float) -> dict[str, torch.optim.Optimizer]:
        networks = [p for name, p in self.named_parameters() if name != "log_gamma"]
        groups = [{"params": networks}, {"params": [self.log_gamma], "lr": lr * self.config.gamma_lr_scale}]
        return {"model": genkit.adam(groups, lr=lr)}

    @property
    def discretization(self) -> float:
        """log of the bin volume of 8-bit data on [0, 1]: D log 256 nats, subtracted from continuous log-densities."""
        return genkit.discretization_nats(self.data_info.dims)

    def elbo(self, batch: Batch) -> torch.Tensor:
        """Per-example ELBO of the 8-bit data in nats (the continuous ELBO minus D log 256)."""
        recon, kl, _ = self.terms(batch.x)
        return -(recon + kl) - self.discretization

    def log_likelihood(self, batch: Batch, samples: int) -> torch.Tensor:
        """Importance-weighted estimate of log P(x) of the 8-bit images, in nats.

        log (1/K) sum_k p(y|z_k) p(z_k) / q(z_k|y) with z_k ~ q(z|y) (Burda et
        al. 2016) for the dequantized y that ``prepare_batch`` drew, minus D log 256
        for the change of scale from [0, 1] to 256 levels. In expectation over u
        and z it is a lower bound on the discrete log-likelihood, the same
        quantity a uniformly dequantized flow reports.
        """
        y = batch.x
        mu, logvar = self.encoder(y)
        target = self.crop(y).flatten(1)

        def log_py_given_z(z):  # [s, b, k] -> [s, b]
            s, b, k = z.shape
            mean = self.decode(z.reshape(s * b, k)).reshape(s, b, -1)
            return gaussian_log_density(target, mean, self.log_gamma)

        log_py = genkit.importance_weighted_log_likelihood(mu, logvar, log_py_given_z, samples, self.config.iw_chunk)
        return log_py - self.discretization

    def describe(self):
        cfg = self.config
        return {
            **super().describe(),
            "kappa": cfg.kappa,
            "latent_dim": cfg.latent_dim,
            "width": cfg.width,
            "padded_side": self.side,
            "gamma": float(self.gamma.detach()),
            "decoder": "Gaussian, learned scalar variance gamma",
        }
