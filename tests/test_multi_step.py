"""The multi-optimizer contract: values pass between updates only as a carry, and each
update's backward pass reaches only its own optimizer's parameters."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict
from torch import nn

import genkit


class NoConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Recorder(genkit.GenerativeModel):
    """A two-player model that records what its objectives receive (test instrumentation only)."""

    monitor = None

    def __init__(self, config, data):
        super().__init__(config, data)
        self.g = nn.Linear(4, data.dims)
        self.d = nn.Linear(data.dims, 1)
        self.seen: list[dict] = []

    def configure_optimizers(self, lr):
        return {"d": genkit.adam(self.d.parameters(), lr=lr), "g": genkit.adam(self.g.parameters(), lr=lr)}

    def updates(self):
        return [genkit.Update("d", self.d_loss, repeats=2), genkit.Update("g", self.g_loss)]

    def d_loss(self, batch):
        fake = self.g(torch.randn(len(batch), 4))
        x = batch.x.flatten(1)
        loss = F.softplus(-self.d(x)).mean() + F.softplus(self.d(fake.detach())).mean()
        if self.training:
            self.seen.append({"made": fake})
        return genkit.LossTerms(loss, {"d_loss": loss.detach()}, carry=fake)

    def g_loss(self, batch, fake):
        if self.training:
            self.seen[-1].update(got=fake, d_grad=self.d.weight.grad.clone(), g_grad=self.g.weight.grad)
        loss = F.softplus(-self.d(fake)).mean()
        return genkit.LossTerms(loss, {"g_loss": loss.detach()})


class RecorderPlugin:
    @genkit.hookimpl
    def register_models(self, register):
        register(
            genkit.ModelSpec(name="recorder", config=NoConfig, build=Recorder, description="multi-step contract test")
        )


def test_carry_passes_the_last_repeat_value_and_each_backward_stays_with_its_optimizer(tiny, quiet):
    genkit.register_plugin(RecorderPlugin(), "recorder")
    checks = []

    def after_step(trainer):
        model = trainer.model
        last = model.seen[-1]
        checks.append(
            (
                last["got"] is last["made"],  # the generator step got the last discriminator repeat's fake
                torch.equal(model.d.weight.grad, last["d_grad"]),  # the generator's backward left D's gradients alone
                last["g_grad"] is None,  # the discriminator's steps computed no gradient of G
                model.g.weight.grad is not None,
                all(p.requires_grad for p in model.parameters()),
            )
        )

    result = genkit.train(
        "recorder",
        overrides={
            "train.dataset": "tiny:128",
            "train.epochs": 1,
            "train.batch_size": 64,
            "train.val_size": 32,
            "train.grid_samples": 4,
        },
        reporter=quiet,
        on_step=after_step,
    )
    assert checks and all(all(c) for c in checks), checks
    assert len(result.model.seen) == 2 * len(checks)  # two discriminator repeats per step
    assert {"d_loss", "g_loss"} <= set(result.metrics[-1]["val"])  # validation runs the same chain
    assert not result.run.best_checkpoint.is_file()  # monitor None: no best checkpoint
