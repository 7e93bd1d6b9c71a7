"""Test plugins shared by the in-process tests and the torchrun worker script:
the ``tiny`` dataset and ``two-player``, a small model with two optimizers
(a least-squares GAN without noise, so that its training is deterministic) and
an actnorm-style data-dependent initialisation."""

from __future__ import annotations

import torch
from conftest import register_tiny
from pydantic import BaseModel, ConfigDict
from torch import nn

import genkit


class TwoPlayerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    hidden: int = 32


class TwoPlayer(genkit.GenerativeModel):
    """A generator maps a fixed projection of each image back to image space; a
    critic tells real from generated. The generator's output is offset by
    ``shift``, set from the data (plus a little noise from the global RNG) in
    ``on_train_start``, as actnorm initialises its bias."""

    monitor = "g_loss"

    def __init__(self, config: TwoPlayerConfig, data: genkit.DataInfo):
        super().__init__(config, data)
        d, h = data.dims, config.hidden
        self.gen = nn.Sequential(nn.Linear(8, h), nn.Tanh(), nn.Linear(h, d))
        self.critic = nn.Sequential(nn.Linear(d, h), nn.Tanh(), nn.Linear(h, 1))
        self.shift = nn.Parameter(torch.zeros(d))
        self.register_buffer("proj", torch.randn(d, 8, generator=torch.Generator().manual_seed(1)) / d**0.5)

    def on_train_start(self, batch):
        x = batch.x.flatten(1)
        self.shift.copy_(x.mean(0) + 0.01 * torch.randn(x.shape[1], device=x.device))

    def fake(self, x):
        return self.gen(x.flatten(1) @ self.proj) + self.shift

    def critic_loss(self, batch):
        x = batch.x.flatten(1)
        loss = (self.critic(x) - 1).pow(2).mean() + self.critic(self.fake(x).detach()).pow(2).mean()
        return genkit.LossTerms(loss, {"d_loss": loss.detach()})

    def generator_loss(self, batch):
        loss = (self.critic(self.fake(batch.x)) - 1).pow(2).mean()
        return genkit.LossTerms(loss, {"g_loss": loss.detach()})

    def configure_optimizers(self, lr):
        gen_params = list(self.gen.parameters()) + [self.shift]
        return {"critic": genkit.adam(self.critic.parameters(), lr=lr), "generator": genkit.adam(gen_params, lr=lr)}

    def updates(self):
        return [genkit.Update("critic", self.critic_loss, repeats=2), genkit.Update("generator", self.generator_loss)]


class TwoPlayerPlugin:
    @genkit.hookimpl
    def register_models(self, register):
        register(
            genkit.ModelSpec(
                name="two-player", config=TwoPlayerConfig, build=TwoPlayer, description="two-optimizer test model"
            )
        )


def register_all() -> None:
    register_tiny()
    genkit.register_plugin(TwoPlayerPlugin(), "two-player")
