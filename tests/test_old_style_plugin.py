"""A plugin written for the older contract still loads and works with every command.

The old form: a hook module that imports torch and registers the objects
themselves (``ModelSpec(config=Class, build=Class)``, a sampler and an evaluator
instance), and a ``prepare_batch(batch, *, train, generator=None)`` that expects
genkit to say whether it is training. It only makes start-up slower.
"""

from __future__ import annotations

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

import genkit


class OldConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    latent_dim: int = Field(4, gt=0)


class OldAutoencoder(genkit.GenerativeModel):
    monitor = "mse"

    def __init__(self, config: OldConfig, data: genkit.DataInfo):
        super().__init__(config, data)
        self.encoder = nn.Linear(data.dims, config.latent_dim)
        self.decoder = nn.Linear(config.latent_dim, data.dims)
        self.latent_shape = (config.latent_dim,)
        self.seen_train_flags: list[bool] = []

    def prepare_batch(self, batch, *, train, generator=None):  # the older signature
        self.seen_train_flags.append(train)
        return genkit.Batch(x=batch.x.float().div(255).flatten(1), y=batch.y)

    def mse(self, batch):
        loss = (torch.sigmoid(self.decoder(self.encoder(batch.x))) - batch.x).pow(2).mean()
        return genkit.LossTerms(loss, {"mse": loss.detach()})

    def updates(self):
        return [genkit.Update("model", self.mse)]

    def decode(self, z, condition=None):
        return torch.sigmoid(self.decoder(z)).view(-1, *self.data_info.shape)


class Zeros(genkit.Sampler):
    name = "zeros"

    def sample(self, model, n, *, temperature=1.0, condition=None, generator=None):
        return model.decode(torch.zeros(n, *model.latent_shape) * temperature, condition)


class OldPlugin:
    @genkit.hookimpl
    def register_models(self, register):
        register(genkit.ModelSpec(name="oldae", config=OldConfig, build=OldAutoencoder))

    @genkit.hookimpl
    def register_samplers(self, register):
        register(Zeros())


def test_an_old_style_plugin_trains_samples_and_reloads(tiny, quiet, tmp_path):
    from genkit.plugins import get_plugin_manager

    info = get_plugin_manager().register_plugin(OldPlugin(), "oldae")
    assert info.status == "ok", info.error
    result = genkit.train(
        "oldae", overrides={"train.dataset": tiny, "train.epochs": 1, "train.val_size": 64}, reporter=quiet
    )
    assert {True, False} <= set(result.model.seen_train_flags)  # train=True in training, False in validation
    assert (result.run.path / "samples_end.png").is_file()
    picture = genkit.sample(result.run.path, 4, sampler="zeros", temperature=0.5, out=tmp_path / "zeros.png")
    assert picture.images.shape == (4, 1, 28, 28)
    assert torch.allclose(picture.images[0], picture.images[1])
