"""The flow through the core: training lowers bpd, checkpoints round-trip, score and sample work."""

from __future__ import annotations

import torch

import genkit
from genkit.checkpoint import load_checkpoint

SMALL = {"model.hidden": 16, "model.res_blocks": 1, "model.checkerboard_couplings": 1, "model.channel_couplings": 1}


def untrained_test_bpd(step: str) -> float:
    """Test bpd of a freshly initialised model (actnorm set from data), as training starts."""
    from genkit_realnvp.config import RealNVPConfig
    from genkit_realnvp.model import RealNVP

    data = genkit.load_dataset("tiny")
    model = RealNVP(
        RealNVPConfig(step=step, **{k.split(".")[1]: v for k, v in SMALL.items()}), genkit.DataInfo("tiny", (1, 28, 28))
    )
    torch.manual_seed(0)
    model.on_train_start(model.prepare_batch(genkit.Batch(x=data.train_x[:448])))
    with torch.no_grad():
        batch = model.prepare_batch(genkit.Batch(x=data.test_x), generator=torch.Generator().manual_seed(0))
        return genkit.bits_per_dim(-model.log_likelihood(batch, 1), model).mean().item()


def test_training_lowers_bpd_and_checkpoint_round_trips(tiny, quiet):
    result = genkit.train(
        "realnvp",
        overrides={"train.dataset": tiny, "train.epochs": 2, "train.val_size": 64, "train.batch_size": 32, **SMALL},
        reporter=quiet,
    )
    rows = result.metrics
    assert [r["epoch"] for r in rows] == [1, 2]
    assert all({"bpd"} <= set(r["train"]) and {"bpd"} <= set(r["val"]) for r in rows)
    assert rows[1]["val"]["bpd"] < rows[0]["val"]["bpd"]

    before = untrained_test_bpd("realnvp")
    report = genkit.score(result.run.path, ["bpd"], dataset=tiny, samples=2)
    after = report.metrics()["bpd"]
    assert torch.isfinite(torch.tensor(before)) and after < before - 0.3

    # Round trip: the loaded model holds exactly the checkpoint's tensors and scores repeat.
    loaded = genkit.load(result.run.path)
    saved = load_checkpoint(loaded.checkpoint).group("model")
    state = loaded.model.state_dict()
    assert set(saved) == set(state)
    assert all(torch.equal(saved[k], state[k].cpu()) for k in saved)
    again = genkit.score(loaded, ["bpd"], dataset=tiny, samples=2).metrics()["bpd"]
    assert again == after

    pic = genkit.sample(result.run.path, 25, temperature=0.7)
    assert pic.images.shape == (25, 1, 28, 28) and torch.isfinite(pic.images).all()
    assert (result.run.path / "curves.png").is_file()


def test_glow_steps_train_and_reload(tiny, quiet):
    result = genkit.train(
        "realnvp",
        overrides={
            "train.dataset": tiny,
            "train.epochs": 1,
            "train.val_size": 64,
            "model.step": "glow",
            "model.glow_steps": 2,
            **SMALL,
        },
        reporter=quiet,
    )
    loaded = genkit.load(result.run.path)
    convs = [m for m in loaded.model.modules() if type(m).__name__ == "InvConv1x1"]
    assert len(convs) == 4  # two scales of two steps
    saved = load_checkpoint(loaded.checkpoint).group("model")
    # The LU's permutation and signs come from a random rotation: they must come back from the file.
    assert all(
        torch.equal(saved[k], loaded.model.state_dict()[k].cpu()) for k in saved if k.endswith(("perm", "sign_s"))
    )
    # A model built afresh (another random rotation) scores the same only once the file's tensors are in.
    from genkit_realnvp.model import RealNVP

    torch.manual_seed(123)
    fresh = RealNVP(loaded.model.config, loaded.data_info)
    batch = genkit.Batch(x=torch.rand(4, 1, 28, 28))
    with torch.no_grad():
        expected = loaded.model.log_likelihood(batch, 1)
        assert not torch.allclose(fresh.log_likelihood(batch, 1), expected)
        fresh.load_state_dict(saved)
        assert torch.allclose(fresh.log_likelihood(batch, 1), expected)
        z = fresh.encode(batch)
        assert torch.allclose(fresh.decode(z), batch.x, atol=1e-4)
