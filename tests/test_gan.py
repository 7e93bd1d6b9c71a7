import pytest
import torch
from judge_helpers import install_tiny_judge

import genkit
from genkit.errors import CapabilityError, DivergenceError

FAST = {"train.val_size": 64, "train.grid_samples": 9}


def _train(tiny, quiet, epochs=2, **extra):
    return genkit.train(
        "gan", overrides={"train.dataset": tiny, "train.epochs": epochs, **FAST, **extra}, reporter=quiet
    )


def test_gan_trains_writes_pictures_and_round_trips(tiny, quiet):
    result = _train(tiny, quiet, epochs=3)
    run = result.run
    for name in ("curves.png", "samples_start.png", "samples_end.png"):
        assert run.file(name).is_file(), name
    row = result.metrics[-1]["train"]
    assert {"d_loss", "d_real", "d_fake", "g_loss"} <= set(row)
    assert 0 < row["d_real"] < 1 and 0 < row["d_fake"] < 1
    lm = genkit.load(run.path)
    from genkit.checkpoint import load_checkpoint

    ckpt = load_checkpoint(run.last_checkpoint)
    assert set(ckpt.meta["optimizers"]) == {"discriminator", "generator"}
    for k, v in lm.model.state_dict().items():
        assert torch.equal(v.cpu(), ckpt.tensors[f"model/{k}"]), k
    images = lm.model.decode(torch.randn(4, 100))
    assert images.shape == (4, 1, 28, 28) and images.min() >= 0 and images.max() <= 1
    assert isinstance(lm.model, genkit.LatentModel) and not isinstance(lm.model, genkit.LikelihoodModel)


def test_resume_continues_exactly(tiny, quiet, tmp_path):
    straight = _train(tiny, quiet, epochs=2, **{"train.seed": 3})
    first = genkit.train(
        "gan",
        overrides={"train.dataset": tiny, "train.epochs": 1, "train.seed": 3, **FAST},
        out=tmp_path / "r",
        reporter=quiet,
    )
    resumed = genkit.train(resume=first.run.path, overrides={"train.epochs": 2}, reporter=quiet)
    a = genkit.load(straight.run.path).model.state_dict()
    b = genkit.load(resumed.run.path).model.state_dict()
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k  # bit for bit: the resumed run replays the same RNG stream


def test_divergence_stops_and_keeps_last_good_checkpoint(tiny, quiet):
    def poison(trainer):
        if trainer.progress.epoch == 1 and trainer.progress.step == 1:
            with torch.no_grad():
                for p in trainer.model.discriminator.parameters():
                    p.fill_(float("nan"))

    with pytest.raises(DivergenceError, match=r"diverged at epoch 2.*last good checkpoint .*epoch 1"):
        genkit.train(
            "gan",
            overrides={"train.dataset": tiny, "train.epochs": 3, "train.check_every": 2, **FAST},
            reporter=quiet,
            on_step=poison,
        )
    run = genkit.list_runs(model="gan")[0]
    assert run.status == "diverged"
    lm = genkit.load(run.path)
    assert lm.meta["progress"]["epoch"] == 1
    assert all(torch.isfinite(v).all() for v in lm.model.state_dict().values() if v.is_floating_point())


def test_bpd_says_a_gan_has_no_likelihood(tiny, quiet):
    run = _train(tiny, quiet, epochs=1).run
    with pytest.raises(CapabilityError) as err:
        genkit.score(run.path, ["bpd"])
    msg = str(err.value)
    assert "does not apply to 'gan'" in msg and "no likelihood" in msg
    assert "fd" in msg and "coverage" in msg and "bpd" not in msg.split("metrics that apply:")[1]


def test_sample_and_interpolate_between_judged_classes(tiny, quiet):
    install_tiny_judge()
    run = _train(tiny, quiet, epochs=4, **{"train.lr": 1e-3}).run
    pic = genkit.sample(run.path, 25)
    assert pic.images.shape == (25, 1, 28, 28) and pic.path.is_file()
    from genkit_judge.evaluator import JudgeEvaluator

    judge = JudgeEvaluator()
    pic = genkit.interpolate(run.path, steps=7)
    assert pic.images.shape == (2, 9, 1, 28, 28)
    ends = judge.classify(pic.images[0, [0, -1]], "tiny")
    assert ends[0] != ends[1]
    a, b = (int(c) for c in ends)
    pic = genkit.interpolate(run.path, steps=7, method="spherical", from_class=b, to_class=a)
    assert judge.classify(pic.images[0, [0, -1]], "tiny").tolist() == [b, a]


@pytest.mark.parametrize(
    "settings", [{"model.architecture": "dcgan"}, {"model.generator_loss": "saturating", "model.d_steps": 2}]
)
def test_variants_train(tiny, quiet, settings):
    result = _train("tiny:128", quiet, epochs=1, **settings)
    lm = genkit.load(result.run.path)
    assert lm.model.decode(torch.randn(2, 100)).shape == (2, 1, 28, 28)
    assert all(torch.isfinite(torch.tensor(v)) for v in result.metrics[-1]["train"].values())


def test_conditional_gan_samples_the_requested_label_and_keeps_its_condition(tiny, quiet):
    run = _train(tiny, quiet, epochs=1, **{"model.conditional": True}).run
    lm = genkit.load(run.path)
    assert lm.model.conditioning == "label" and lm.meta["conditioning"] == "label"
    z = torch.randn(10, 100, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        threes, sevens = lm.model.decode(z, torch.full((10,), 3)), lm.model.decode(z, torch.full((10,), 7))
    assert not torch.allclose(threes, sevens), "the label must change what the generator draws"
    assert genkit.sample(run.path, 9, label=7).images.shape == (9, 1, 28, 28)
    grid = genkit.sample(run.path, 20)  # no label: every class in turn
    assert grid.images.shape == (20, 1, 28, 28) and grid.path.is_file()
    with pytest.raises(CapabilityError, match="out of range"):
        genkit.sample(run.path, 4, label=10)
    with pytest.raises(CapabilityError, match="conditional"):
        genkit.interpolate(run.path)


def test_unconditional_gan_refuses_a_label(tiny, quiet):
    run = _train(tiny, quiet, epochs=1).run
    with pytest.raises(CapabilityError, match="takes no class label"):
        genkit.sample(run.path, 4, label=3)
