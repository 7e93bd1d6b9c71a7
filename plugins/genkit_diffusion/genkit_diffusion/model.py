"""The diffusion model family: one U-Net, two objectives.

``objective = "ddpm"``: epsilon prediction on a linear or cosine noise schedule
(Ho et al. 2020), sampled by DDIM (Song et al. 2021) or ancestrally; a variational
bound in bits per dimension of the 8-bit data. ``objective = "flow-matching"``:
velocity prediction on the straight path from noise (t = 0) to data (t = 1)
(Lipman et al. 2023; Liu et al. 2023), sampled by Euler or Heun steps.

Both are ``genkit.LatentModel`` s whose latent is the starting noise image and
whose ``decode`` is the deterministic sampler (DDIM with eta = 0, or the Euler
ODE solver), so the core's sample grids, spherical interpolation and judge work
unchanged; the stochastic and higher-order samplers are in ``samplers.py``.

EMA: the average is updated in ``after_step``, which genkit calls after every
optimizer step, outside autocast and torch.compile: after N steps it averages the
weights of those N steps, and it is saved and resumed with the model's state.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

import genkit

from . import solvers
from .bound import variational_bound
from .config import DiffusionConfig
from .ema import EMA
from .schedule import NoiseSchedule
from .unet import UNet

TIME_SCALE = 1000.0  # both objectives feed the network times on a 0..1000 scale


class DiffusionModel(genkit.GenerativeModel):
    """What both objectives share: the U-Net, its EMA copy, labels and guidance."""

    monitor = "loss"
    objective = ""

    def __init__(self, config: DiffusionConfig, data: genkit.DataInfo):
        super().__init__(config, data)
        if config.conditional and not data.num_classes:
            raise genkit.GenkitError(
                f"model.conditional=true needs a dataset with class labels; '{data.name}' has none"
            )
        levels, (_, h, w) = len(config.channel_mults), data.shape
        smallest = 2 ** (levels - 1)  # the U-Net halves the image once per level after the first
        if min(h, w) < smallest:
            raise ValueError(
                f"images of {h}x{w} are smaller than the U-Net's minimum of {smallest}x{smallest} (it halves them "
                f"{levels - 1} times: model.channel_mults has {levels} levels)"
            )
        self.num_classes = data.num_classes if config.conditional else None
        self.net = UNet(
            data.shape[0],
            config.channels,
            tuple(config.channel_mults),
            config.res_blocks,
            config.attention,
            config.dropout,
            self.num_classes,
        )
        # Channels-last weights: the layout oneDNN's CPU convolutions and GPU tensor cores prefer.
        # benchmarks/diffusion_speed.py measures 1.0-1.1x for sampling on this project's CPU.
        self.net.to(memory_format=torch.channels_last)
        self.ema = EMA(self.net, config.ema_decay) if config.ema else None
        self.conditioning = "label" if config.conditional else None
        self.latent_shape = tuple(data.shape)  # the noise image a deterministic sampler starts from

    # -- training ------------------------------------------------------------
    def prepare_batch(self, batch: genkit.Batch, *, generator=None) -> genkit.Batch:
        x = batch.x.float().div_(127.5).sub_(1.0)  # [-1, 1]
        return genkit.Batch(x=x, y=batch.y, condition=batch.y if self.conditioning == "label" else None)

    def configure_optimizers(self, lr: float):
        return {"model": genkit.adam(self.net.parameters(), lr)}  # never the EMA copy

    def updates(self):
        return [genkit.Update("model", self.loss)]

    def on_train_start(self, batch: genkit.Batch) -> None:
        if self.ema is not None:
            self.ema.reset(self.net)

    def after_step(self, step: int, update: genkit.Update) -> None:
        if self.ema is not None:
            self.ema.update(self.net)

    def loss(self, batch: genkit.Batch) -> genkit.LossTerms:
        labels = batch.condition
        if labels is not None and self.training and self.config.label_dropout > 0:
            drop = torch.rand(labels.shape[0], device=labels.device) < self.config.label_dropout
            labels = torch.where(drop, torch.full_like(labels, self.num_classes), labels)
        loss = self.training_loss(batch.x, labels)
        return genkit.LossTerms(loss, {"loss": loss.detach()})

    def training_loss(self, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        raise NotImplementedError

    # -- prediction ----------------------------------------------------------
    @property
    def sampling_net(self):
        """The EMA weights when kept (sampling and scoring), else the trained ones."""
        return self.ema.net if self.ema is not None else self.net

    def resolve_guidance(self, guidance: float | None) -> float | None:
        """The guidance weight to sample with: the one asked for (genkit has checked it), else a
        conditional model's default."""
        if guidance is not None:
            return float(guidance)
        return self.config.guidance if self.conditioning == "label" else None

    def predict(
        self, x: torch.Tensor, t: torch.Tensor, condition: torch.Tensor | None, guidance: float | None
    ) -> torch.Tensor:
        """The network's output at times ``t`` (0..1000 scale); with a label and a guidance
        weight w, classifier-free guidance u + w (c - u) (w = 0: unconditional, w = 1: conditional)."""
        net = self.sampling_net
        if condition is None or self.num_classes is None:
            return net(x, t, None)
        if guidance is None or guidance == 1.0:
            return net(x, t, condition)
        if guidance == 0.0:
            return net(x, t, None)
        null = torch.full_like(condition, self.num_classes)
        out = net(torch.cat([x, x]), torch.cat([t, t]), torch.cat([condition, null]))
        conditional, unconditional = out.chunk(2)
        return unconditional + guidance * (conditional - unconditional)

    @staticmethod
    def to_images(x: torch.Tensor) -> torch.Tensor:
        return x.clamp(-1, 1).add(1).div(2)

    def decode(self, z: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        """The deterministic map from a noise image to an image: DDIM (eta 0) or Euler."""
        return self.deterministic_sample(z, condition, self.config.sample_steps, self.resolve_guidance(None))

    def deterministic_sample(self, z, condition, steps, guidance, progress=None) -> torch.Tensor:
        raise NotImplementedError

    def describe(self):
        return {
            "objective": self.objective,
            "parameters (U-Net)": sum(p.numel() for p in self.net.parameters()),
            "EMA of weights": f"decay {self.config.ema_decay}" if self.ema is not None else "off",
            "default sampler": f"{self.default_sampler} ({self.config.sample_steps} steps behind decode)",
            "conditional": f"labels, guidance {self.config.guidance:g}" if self.conditioning else "no",
        }


class DDPM(DiffusionModel):
    objective = "ddpm"
    default_sampler = "ddim"
    likelihood_space = genkit.EIGHT_BIT  # the bound is of the 8-bit image (discretized decoder): bits are bpd

    def __init__(self, config: DiffusionConfig, data: genkit.DataInfo):
        super().__init__(config, data)
        self.schedule = NoiseSchedule(config.schedule, config.timesteps)
        # Min-SNR weights per step: steps with SNR above gamma (the least noisy) count gamma / SNR, the rest 1.
        gamma = config.min_snr_gamma
        weights = (gamma / self.schedule.snr).clamp(max=1.0) if gamma > 0 else None
        self.register_buffer("loss_weights", weights, persistent=False)

    def net_time(self, t: torch.Tensor) -> torch.Tensor:
        return t.float() * (TIME_SCALE / self.config.timesteps)

    def training_loss(self, x, labels):
        t = torch.randint(0, self.config.timesteps, (x.shape[0],), device=x.device)
        noise = torch.randn_like(x)
        eps = self.net(self.schedule.q_sample(x, t, noise), self.net_time(t), labels)
        if self.loss_weights is None:
            return F.mse_loss(eps, noise)
        per_image = (eps.float() - noise).square().flatten(1).mean(1)
        return (self.loss_weights[t] * per_image).mean()

    def eps(self, x, t, condition=None, guidance=None):
        """Predicted noise at integer steps ``t`` [B] with the sampling (EMA) weights."""
        return self.predict(x, self.net_time(t), condition, guidance)

    def deterministic_sample(self, z, condition, steps, guidance, progress=None):
        return self.to_images(solvers.ddim(self, z, condition, steps, guidance, progress))

    def elbo(self, batch: genkit.Batch) -> torch.Tensor:
        """A stochastic estimate of the variational bound of the 8-bit image, in nats [B]
        (``bound_timesteps`` stratified steps plus the exact prior and decoder terms)."""
        return -variational_bound(self, batch.x, batch.condition, self.config.bound_timesteps)


class FlowMatching(DiffusionModel):
    objective = "flow-matching"
    default_sampler = "euler"

    def training_loss(self, x, labels):
        t = torch.rand(x.shape[0], device=x.device)
        noise = torch.randn_like(x)
        tt = t.view(-1, 1, 1, 1)
        v = self.net((1 - tt) * noise + tt * x, t * TIME_SCALE, labels)
        return F.mse_loss(v, x - noise)

    def velocity(self, x, t, condition=None, guidance=None):
        """Predicted velocity at times ``t`` [B] in [0, 1] with the sampling (EMA) weights."""
        return self.predict(x, t * TIME_SCALE, condition, guidance)

    def deterministic_sample(self, z, condition, steps, guidance, progress=None):
        return self.to_images(solvers.euler(self, z, condition, steps, guidance, progress))


def build(config: DiffusionConfig, data: genkit.DataInfo) -> DiffusionModel:
    return (DDPM if config.objective == "ddpm" else FlowMatching)(config, data)
