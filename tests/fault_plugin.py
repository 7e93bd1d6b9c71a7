"""A plugin for the fault tests, installed as a package would be (tests/test_faults.py puts it
with an entry point into a private site directory): the ``tiny`` dataset (512 training and 256
test images of the embedded MNIST subset) and ``paced``, a small model whose every training step
takes at least ``model.pause`` seconds, so that a signal sent at a random moment lands in the
middle of training whatever the machine's load. Its binarization and dropout draw from the
global RNG, so a resumed run matches only if the RNG state is restored exactly."""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

import genkit


class PacedConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hidden: int = Field(32, gt=0)
    pause: float = Field(0.0, ge=0, description="seconds each training step waits")


class Paced(genkit.GenerativeModel):
    monitor = "loss"

    def __init__(self, config: PacedConfig, data: genkit.DataInfo):
        super().__init__(config, data)
        self.net = nn.Sequential(
            nn.Linear(data.dims, config.hidden), nn.Tanh(), nn.Dropout(0.2), nn.Linear(config.hidden, data.dims)
        )

    def prepare_batch(self, batch, *, generator=None):
        x = batch.x.float().div(255.0)
        noise = torch.rand(x.shape, generator=generator, device=x.device)
        return genkit.Batch(x=(noise < x).float(), y=batch.y)

    def loss(self, batch):
        if self.training and self.config.pause:
            time.sleep(self.config.pause)
        x = batch.x.flatten(1)
        loss = F.binary_cross_entropy_with_logits(self.net(x), x)
        return genkit.LossTerms(loss, {"loss": loss.detach()})

    def updates(self):
        return [genkit.Update("model", self.loss)]


def load_tiny(data_dir, arg=None):
    from genkit.data import load_dataset
    from genkit.data.sources import EMBEDDED_ROOT

    full = load_dataset("mnist", str(EMBEDDED_ROOT))
    return genkit.ImageDataset(
        name="tiny",
        train_x=full.train_x[:512],
        train_y=full.train_y[:512],
        test_x=full.test_x[:256],
        test_y=full.test_y[:256],
        num_classes=10,
        source="first 512 of the embedded MNIST subset",
    )


@genkit.hookimpl
def register_datasets(register):
    register(genkit.DatasetSpec("tiny", load="fault_plugin:load_tiny", description="512 MNIST images for tests"))


@genkit.hookimpl
def register_models(register):
    register(
        genkit.ModelSpec(
            "paced",
            config="fault_plugin:PacedConfig",
            build="fault_plugin:Paced",
            description="a small model whose steps take model.pause seconds (fault tests)",
        )
    )
