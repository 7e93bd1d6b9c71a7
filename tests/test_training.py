"""The training loop: learning, resuming, reloading, interruption and divergence."""

import json

import pytest
import torch

import genkit
from genkit.errors import DivergenceError
from genkit.training.trainer import TrainingInterrupted

TINY = {"train.epochs": 2, "train.batch_size": 64, "train.val_size": 64}


def train_tiny(tiny, quiet, **kw):
    overrides = {"train.dataset": tiny, **TINY, **kw.pop("overrides", {})}
    return genkit.train("vae", overrides=overrides, reporter=quiet, **kw)


def test_elbo_improves_with_training(tiny, quiet):
    result = train_tiny(tiny, quiet, overrides={"train.epochs": 4})
    val = [row["val"]["neg_elbo"] for row in result.metrics]
    assert val[-1] < val[0] - 20  # nats per image
    lines = (result.run.path / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 4 and json.loads(lines[0])["epoch"] == 1
    for name in (
        "curves.png",
        "samples_start.png",
        "samples_epoch2.png",
        "samples_end.png",
        "config.json",
        "manifest.json",
    ):
        assert (result.run.path / name).is_file(), name
    manifest = json.loads((result.run.path / "manifest.json").read_text())
    assert manifest["seed"] == 0 and manifest["versions"]["torch"] == torch.__version__


def test_checkpoint_reloads_to_bit_identical_samples(tiny, quiet):
    result = train_tiny(tiny, quiet)
    gen = torch.Generator().manual_seed(3)
    with torch.no_grad():
        expected = result.model.decode(torch.randn(16, 20, generator=gen))
    loaded = genkit.load(result.run.path, device="cpu")
    with torch.no_grad():
        again = loaded.model.decode(torch.randn(16, 20, generator=torch.Generator().manual_seed(3)))
    assert torch.equal(expected, again)
    first = genkit.sample(result.run.path, 16, seed=5).images
    second = genkit.sample(result.run.path / "checkpoints" / "last.safetensors", 16, seed=5).images
    assert torch.equal(first, second)


def test_resume_after_interruption_matches_an_uninterrupted_run(tiny, quiet, tmp_path):
    straight = train_tiny(tiny, quiet, out=tmp_path / "straight")

    def stop_mid_epoch(trainer):
        if trainer.progress.global_step == 11:  # 448 training images / 64 = 7 steps: epoch 2, step 4
            trainer.stop_requested = True

    with pytest.raises(TrainingInterrupted, match="--resume"):
        train_tiny(tiny, quiet, out=tmp_path / "cut", on_step=stop_mid_epoch)
    status = json.loads((tmp_path / "cut" / "status.json").read_text())
    assert status["status"] == "interrupted"
    info = genkit.info(tmp_path / "cut")
    assert info["interrupted"] and info["progress"]["step"] == 4
    resumed = genkit.train(resume=tmp_path / "cut", reporter=quiet)
    for (name, a), b in zip(straight.model.state_dict().items(), resumed.model.state_dict().values()):
        assert torch.equal(a, b), name
    assert [r["train"] for r in straight.metrics] == [r["train"] for r in resumed.metrics]
    assert [r["val"] for r in straight.metrics] == [r["val"] for r in resumed.metrics]


def test_resume_can_extend_the_number_of_epochs(tiny, quiet, tmp_path):
    train_tiny(tiny, quiet, out=tmp_path / "run")
    more = genkit.train(resume=tmp_path / "run", overrides={"train.epochs": 3}, reporter=quiet)
    assert [r["epoch"] for r in more.metrics] == [1, 2, 3]


def test_diverging_loss_stops_with_a_clear_message_and_keeps_the_last_good_checkpoint(tiny, quiet, tmp_path):
    good = train_tiny(tiny, quiet, out=tmp_path / "run", overrides={"train.epochs": 1})
    before = (tmp_path / "run" / "checkpoints" / "last.safetensors").read_bytes()

    def poison(trainer):
        if trainer.progress.global_step == 10:
            with torch.no_grad():
                trainer.model.decoder[-1].bias.fill_(float("nan"))

    with pytest.raises(DivergenceError, match="diverged at epoch 2.*last good checkpoint"):
        genkit.train(
            resume=tmp_path / "run",
            overrides={"train.epochs": 2, "train.check_every": 2},
            reporter=quiet,
            on_step=poison,
        )
    assert (tmp_path / "run" / "checkpoints" / "last.safetensors").read_bytes() == before
    assert json.loads((tmp_path / "run" / "status.json").read_text())["status"] == "diverged"
    assert good.metrics


def test_no_data_anywhere_falls_back_to_the_embedded_subset(monkeypatch, quiet, tmp_path):
    monkeypatch.delenv("GENKIT_DATA_DIR", raising=False)
    messages = []
    quiet.message = messages.append
    result = genkit.train(
        "vae", overrides={"train.epochs": 1, "train.val_size": 500}, reporter=quiet, out=tmp_path / "run"
    )
    assert any("embedded MNIST subset" in m for m in messages)
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["embedded_data"] is True and "embedded" in manifest["data_source"]
    assert result.metrics[0]["val"]["neg_elbo"] < 300
