"""The WGAN-GP of docs/plugins.md, as printed there: each critic step draws a fresh batch, the
gradient penalty trains and validates, an interrupted run resumes bit for bit, and
``--compile`` compiles each objective once (not per critic step)."""

from __future__ import annotations

import math
import shutil

import pytest
import torch
from wgan_gp import register

import genkit
from genkit.training.trainer import TrainingInterrupted

SMALL = {
    "train.dataset": "tiny:240",
    "train.val_size": 40,  # 200 training images: 5 steps of 5 critic batches of 8
    "train.batch_size": 8,
    "train.epochs": 1,
    "train.grid_samples": 4,
    "model.hidden": 32,
    "model.latent_dim": 8,
}


def test_critic_steps_draw_fresh_batches_the_penalty_validates_and_a_run_resumes_bit_for_bit(tiny, quiet, tmp_path):
    wgan = register()
    seen: list[tuple[str, torch.Tensor]] = []

    class Watched(wgan.WGANGP):  # the docs' model, watched
        def critic_loss(self, batch):
            if self.training:
                seen.append(("critic", batch.x.clone()))
            return super().critic_loss(batch)

        def generator_loss(self, batch, fake):
            if self.training:
                seen.append(("generator", batch.x.clone()))
            return super().generator_loss(batch, fake)

    class Hooks:
        @genkit.hookimpl
        def register_models(self, register):
            register(genkit.ModelSpec(name="wgan-gp-watched", config=wgan.WGANGPConfig, build=Watched))

    genkit.register_plugin(Hooks(), "wgan-gp-watched")
    straight = genkit.train("wgan-gp-watched", overrides=SMALL, reporter=quiet, out=tmp_path / "straight")
    assert straight.model.data_info.batch_size == 8  # known when the model was built
    # 5 steps, each 5 critic calls and a generator call
    assert [kind for kind, _ in seen] == (["critic"] * 5 + ["generator"]) * 5
    critic = [x for kind, x in seen if kind == "critic"]
    assert all(x.shape == (8, 784) for x in critic)
    # 25 different batches: every training image exactly once in the epoch
    assert torch.unique(torch.cat(critic), dim=0).shape[0] == 200
    for step in range(5):  # the generator works on the batch its carried fakes were made for
        assert torch.equal(seen[step * 6 + 5][1], seen[step * 6 + 4][1])
    row = straight.metrics[-1]  # validated with the penalty (it took gradients where all else runs under no_grad)
    assert row["val"]["penalty"] > 0 and all(math.isfinite(v) for v in row["val"].values())
    assert set(row["train"]) == set(row["val"]) == {"critic_loss", "distance", "penalty", "g_loss"}

    def stop(trainer):
        if trainer.progress.global_step == 2:  # mid-epoch
            trainer.stop_requested = True

    with pytest.raises(TrainingInterrupted):
        genkit.train("wgan-gp-watched", overrides=SMALL, reporter=quiet, out=tmp_path / "cut", on_step=stop)
    resumed = genkit.train(resume=tmp_path / "cut", reporter=quiet)
    for (name, a), b in zip(straight.model.state_dict().items(), resumed.model.state_dict().values()):
        assert torch.equal(a, b), name
    assert straight.metrics[-1]["val"] == resumed.metrics[-1]["val"]


@pytest.mark.skipif(
    shutil.which("cc") is None and shutil.which("gcc") is None, reason="torch.compile on CPU needs a C compiler"
)
def test_compiled_critic_steps_do_not_recompile_per_step(tiny, quiet, monkeypatch):
    import functools

    import torch._dynamo

    register()
    # Whether a call recompiles is Dynamo's decision (its guards), the same for every backend: Dynamo's
    # own graphs run eagerly here, which keeps the test to seconds. tests/test_compile.py trains a
    # carrying GAN through the default backend (Inductor), which this model also runs under.
    monkeypatch.setattr(torch, "compile", functools.partial(torch.compile, backend="eager"))
    torch._dynamo.reset()
    # 90 training images: 2 full steps and a last one of five batches of 2 (one recompile for the new shape)
    overrides = {**SMALL, "train.dataset": "tiny:100", "train.val_size": 10, "train.compile": True}
    # 5 critic steps per step would exceed the limit (config.patch: a monkeypatch's undo deletes the setting)
    with torch._dynamo.config.patch(recompile_limit=3, fail_on_recompile_limit_hit=True):
        result = genkit.train("wgan-gp", overrides=overrides, reporter=quiet)
    torch._dynamo.reset()
    assert all(math.isfinite(v) for v in result.metrics[-1]["train"].values())
    assert result.metrics[-1]["val"]["penalty"] > 0
