"""A tiny PixelCNN for genkit, written from docs/plugins.md of contract 1.0 (hook spec 1.0).

One module, as that page's minimal plugin was: torch at module level and the objects
themselves in the registrations. The model overrides prepare_batch with the signature the
page gave, prepare_batch(batch, *, train, generator=None), and builds on genkit's default
through super(); its likelihood is scored by `bpd`, which then applied to every model with
a likelihood. A sampler and an evaluator are registered as instances, and a small dataset
of stripes as a DatasetSpec holding its load function.
"""

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

import genkit

GENKIT_HOOKS = 1  # the major version of genkit's hook specification this is written for


class HoldoutConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")  # unknown keys are config errors
    channels: int = Field(16, gt=0)


class MaskedConv2d(nn.Conv2d):
    """A convolution that sees only the pixels above and to the left (type A: not the centre)."""

    def __init__(self, kind, in_channels, out_channels, kernel_size):
        super().__init__(in_channels, out_channels, kernel_size, padding=kernel_size // 2)
        mask = torch.ones_like(self.weight)
        k = kernel_size // 2
        mask[:, :, k, k + (kind == "B") :] = 0
        mask[:, :, k + 1 :] = 0
        self.register_buffer("mask", mask)

    def forward(self, x):
        return F.conv2d(x, self.weight * self.mask, self.bias, padding=self.padding)


class PixelCNN(genkit.GenerativeModel):
    monitor = "nll"  # the logged term whose validation value picks the best checkpoint

    def __init__(self, config: HoldoutConfig, data: genkit.DataInfo):
        super().__init__(config, data)
        c, h = data.shape[0], config.channels
        self.net = nn.Sequential(
            MaskedConv2d("A", c, h, 5), nn.ReLU(), MaskedConv2d("B", h, h, 3), nn.ReLU(), MaskedConv2d("B", h, c, 1)
        )

    def prepare_batch(self, batch, *, train, generator=None):
        batch = super().prepare_batch(batch, train=train, generator=generator)  # floats in [0, 1]
        noise = torch.rand(batch.x.shape, generator=generator, device=batch.x.device)
        return genkit.Batch(x=(noise < batch.x).float(), y=batch.y)  # dynamic binarization

    def log_likelihood(self, batch, samples=1):  # genkit.LikelihoodModel: score -m nll, -m bpd
        logits = self.net(batch.x)
        return -F.binary_cross_entropy_with_logits(logits, batch.x, reduction="none").flatten(1).sum(1)

    def nll(self, batch):
        loss = -self.log_likelihood(batch).mean()
        return genkit.LossTerms(loss, {"nll": loss.detach()})

    def updates(self):
        return [genkit.Update("model", self.nll)]


class RasterSampler(genkit.Sampler):
    name = "holdout-raster"
    description = "draw a PixelCNN's pixels one at a time in raster order"

    @torch.no_grad()
    def sample(self, model, n, *, temperature=1.0, condition=None, generator=None):
        if not isinstance(model, PixelCNN):
            raise genkit.GenkitError("holdout-raster draws from the holdout PixelCNN only")
        c, height, width = model.data_info.shape
        device = next(model.parameters()).device
        x = torch.zeros(n, c, height, width, device=device)
        for i in range(height):
            for j in range(width):
                p = torch.sigmoid(model.net(x)[:, :, i, j] / temperature)
                x[:, :, i, j] = (torch.rand(p.shape, generator=generator, device=device) < p).float()
        return x


class PixelAccuracy(genkit.Evaluator):
    name = "holdout-accuracy"
    description = "fraction of test pixels the model's next-pixel prediction gets right"
    requires = (genkit.LikelihoodModel,)
    missing = "holdout-accuracy needs the holdout PixelCNN"

    @torch.no_grad()
    def evaluate(self, ctx):
        right, total = 0.0, 0
        for batch in ctx.batches():
            guess = (ctx.model.net(batch.x) > 0).float()
            right += (guess == batch.x).float().sum().item()
            total += batch.x.numel()
            ctx.advance(len(batch))
        return genkit.EvalResult(metrics={"pixel_accuracy": right / total})


def load_stripes(data_dir, arg):
    # data_dir: --data-dir or None; arg: the text after "name:" or None
    g = torch.Generator().manual_seed(0)
    n = int(arg or 320)
    y = torch.randint(0, 2, (n,), generator=g)
    at = torch.randint(0, 6, (n,), generator=g)
    x = torch.zeros(n, 1, 8, 8, dtype=torch.uint8)
    for k in range(n):
        if y[k]:
            x[k, :, at[k] : at[k] + 2, :] = 255
        else:
            x[k, :, :, at[k] : at[k] + 2] = 255
    cut = n * 4 // 5
    return genkit.ImageDataset(
        name="holdout-stripes",
        train_x=x[:cut],
        test_x=x[cut:],
        train_y=y[:cut],
        test_y=y[cut:],
        num_classes=2,
        source="generated",
    )


@genkit.hookimpl
def register_models(register):
    register(
        genkit.ModelSpec(
            name="holdout",
            config=HoldoutConfig,
            build=PixelCNN,
            description="tiny PixelCNN over binarized pixels",
            train_defaults={"epochs": 2, "batch_size": 32},
            default_metrics=("bpd", "holdout-accuracy"),
        )
    )


@genkit.hookimpl
def register_samplers(register):
    register(RasterSampler())


@genkit.hookimpl
def register_evaluators(register):
    register(PixelAccuracy())


@genkit.hookimpl
def register_datasets(register):
    register(genkit.DatasetSpec("holdout-stripes", load_stripes, "horizontal and vertical stripes, 8x8"))
