"""A test plugin with no latent space, written from docs/plugins.md ("A model without a latent space").

``pixels`` models each pixel of a binarized image as an independent Bernoulli
variable, so its likelihood is exact; it samples through its own registered
sampler, ``pixel-bernoulli``, which it names as its ``default_sampler``.
Register it with ``get_plugin_manager().register_plugin(PixelPlugin(), "genkit-pixels")``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

import genkit


class PixelsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    threshold: float = Field(0.5, gt=0, lt=1, description="pixels above it are 1")


class BernoulliPixels(genkit.GenerativeModel):
    """p(x) = prod_i Bernoulli(x_i; sigmoid(logit_i)): one learned logit per pixel."""

    monitor = "nll"
    likelihood_space = "binarized"
    default_sampler = "pixel-bernoulli"

    def __init__(self, config: PixelsConfig, data: genkit.DataInfo):
        super().__init__(config, data)
        self.logits = nn.Parameter(torch.zeros(*data.shape))

    def prepare_batch(self, batch, *, generator=None):
        x = (batch.x.float() / 255.0 > self.config.threshold).float()
        return genkit.Batch(x=x, y=batch.y, condition=batch.condition)

    def log_likelihood(self, batch, samples=1):  # genkit.LikelihoodModel: exact, so samples is unused
        logits = self.logits.expand_as(batch.x)
        return -F.binary_cross_entropy_with_logits(logits, batch.x, reduction="none").flatten(1).sum(1)

    def nll(self, batch):
        loss = -self.log_likelihood(batch).mean()
        return genkit.LossTerms(loss, {"nll": loss.detach()})

    def updates(self):
        return [genkit.Update("model", self.nll)]


class PixelSampler(genkit.Sampler):
    name = "pixel-bernoulli"
    description = "draw every pixel from its Bernoulli, logits divided by --temperature"

    def unsupported_reason(self, model):
        return None if isinstance(model, BernoulliPixels) else "it draws the pixels of a BernoulliPixels model"

    def sample(self, model, n, *, temperature=1.0, generator=None, progress=None):
        probs = torch.sigmoid(model.logits / max(temperature, 1e-6)).expand(n, *model.logits.shape)
        device = generator.device if generator is not None else probs.device
        images = torch.bernoulli(probs.to(device), generator=generator).to(probs.device)
        if progress is not None:
            progress(1, 1)
        return images


class PixelPlugin:
    """The hooks, as an object (a module with the same functions works the same way)."""

    GENKIT_HOOKS = 1

    @genkit.hookimpl
    def register_models(self, register):
        register(
            genkit.ModelSpec(
                name="pixels",
                config="pixel_plugin:PixelsConfig",
                build="pixel_plugin:BernoulliPixels",
                description="independent Bernoulli pixels",
                train_defaults={"epochs": 1},
                default_metrics=("nll",),
            )
        )

    @genkit.hookimpl
    def register_samplers(self, register):
        register(
            genkit.SamplerSpec(
                name="pixel-bernoulli",
                sampler="pixel_plugin:PixelSampler",
                description="draw every pixel from its Bernoulli",
                models=("pixels",),
            )
        )
