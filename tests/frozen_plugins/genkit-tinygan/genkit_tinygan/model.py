"""The guide's TinyGAN: a discriminator update repeated twice that carries its fake batch
to the generator update."""

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict
from torch import nn

import genkit


class TinyGANConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TinyGAN(genkit.GenerativeModel):
    monitor = None  # GAN losses pick no best checkpoint

    def __init__(self, config, data_info):
        super().__init__(config, data_info)
        self.latent_shape = (16,)
        self.g = nn.Sequential(nn.Linear(16, data_info.dims), nn.Tanh())
        self.d = nn.Sequential(nn.Flatten(), nn.Linear(data_info.dims, 1))

    def configure_optimizers(self, lr):
        return {"d": genkit.adam(self.d.parameters(), lr=lr), "g": genkit.adam(self.g.parameters(), lr=lr)}

    def updates(self):
        return [genkit.Update("d", self.d_loss, repeats=2), genkit.Update("g", self.g_loss)]

    def d_loss(self, batch):
        fake = self.g(torch.randn(len(batch), 16, device=batch.x.device))
        loss = F.softplus(-self.d(batch.x)).mean() + F.softplus(self.d(fake.detach())).mean()
        return genkit.LossTerms(loss, {"d_loss": loss.detach()}, carry=fake)  # handed to g_loss

    def g_loss(self, batch, fake):  # the last d step's fake, graph and all
        loss = F.softplus(-self.d(fake)).mean()  # gradients reach self.g only
        return genkit.LossTerms(loss, {"g_loss": loss.detach()})

    def decode(self, z, condition=None):
        return self.g(z).view(-1, *self.data_info.shape).add(1).div(2)
