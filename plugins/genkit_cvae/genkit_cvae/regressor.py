"""The regressor baseline of the completion task: the column in, every pixel's mean out.

A deterministic network with Bernoulli pixels is a conditional model with an
exact likelihood, p(x | c) = prod_i Bernoulli(x_i; f_i(c)); maximising it makes
f(c) the conditional mean E[x | c], which is the blur Doersch (2016, section
5) contrasts with the CVAE's completions. Its network is the CVAE decoder
without the latent input, so the two have similar capacity.
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


class RegressorConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hidden: int = Field(500, gt=0, description="width of every hidden layer")
    layers: int = Field(1, gt=0, description="hidden layers (the CVAE decoder has as many)")
    activation: Literal["relu", "tanh"] = Field("relu", description="hidden nonlinearity")


class ColumnRegressor(genkit.GenerativeModel):
    """Binarized middle column -> MLP -> Bernoulli logits of every pixel."""

    monitor = "nll"
    conditioning = "column"
    likelihood_samples = 1  # the likelihood is exact
    likelihood_space = genkit.BINARIZED

    def __init__(self, config: RegressorConfig, data: genkit.DataInfo):
        super().__init__(config, data)
        self.net = mlp(conditions.column_size(data), config.hidden, data.dims, config.layers, config.activation)

    def prepare_batch(self, batch: Batch, *, generator=None) -> Batch:
        return conditions.prepare("column", batch, generator)

    def logits(self, condition: torch.Tensor | None) -> torch.Tensor:
        return self.net(conditions.condition_features("column", condition, self.data_info))

    def complete(self, batch: Batch, generator: torch.Generator | None = None) -> torch.Tensor:
        """The predicted pixel means as images in [0, 1] (the same for every call)."""
        return torch.sigmoid(self.logits(batch.condition)).view(-1, *self.data_info.shape)

    def observed(self, batch: Batch) -> torch.Tensor:
        """The observed column drawn as images (with ``complete``: a genkit.CompletionModel)."""
        return conditions.observed_picture("column", batch, self.data_info)

    def log_likelihood(self, batch: Batch, samples: int = 1) -> torch.Tensor:
        """Exact per-example log p(x | c) in nats."""
        return -F.binary_cross_entropy_with_logits(self.logits(batch.condition), batch.x, reduction="none").sum(1)

    def negative_log_likelihood(self, batch: Batch) -> LossTerms:
        loss = -self.log_likelihood(batch).mean()
        return LossTerms(loss=loss, terms={"nll": loss.detach()})

    def updates(self) -> list[Update]:
        return [Update("model", self.negative_log_likelihood)]

    def describe(self):
        cfg = self.config
        return {
            **super().describe(),
            "condition": "column",
            "hidden": cfg.hidden,
            "layers": cfg.layers,
            "output": "Bernoulli means",
        }
