"""The one drawing path: whichever command draws (sample, score, interpolate, manifold), a
refusal has one wording, and every image is checked the same way."""

from __future__ import annotations

import json
import re

import pytest
import torch
from pydantic import BaseModel, ConfigDict
from test_front_door import run_genkit
from torch import nn

import genkit
from genkit.errors import CapabilityError
from genkit.plugins import get_plugin_manager


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Linear(genkit.GenerativeModel):
    """A linear decoder from a 2-d code, trained to reconstruct: small and fast."""

    def __init__(self, config, data):
        super().__init__(config, data)
        self.encoder, self.decoder = nn.Linear(data.dims, 2), nn.Linear(2, data.dims)
        self.latent_shape = (2,)

    def objective(self, batch):
        x = batch.x.flatten(1)
        loss = (torch.sigmoid(self.decoder(self.encoder(x))) - x).pow(2).sum(1).mean()
        return genkit.LossTerms(loss, {"loss": loss.detach()})

    def updates(self):
        return [genkit.Update("model", self.objective)]

    def decode(self, z, condition=None):
        return torch.sigmoid(self.decoder(z)).view(-1, *self.data_info.shape)


class Labelled(Linear):
    conditioning = "label"


class TooBright(Linear):
    scale = 1.0  # raised to 2 once it has trained (its training grids pass the same check)

    def decode(self, z, condition=None):
        return self.scale * super().decode(z, condition)


class Plain(genkit.GenerativeModel):
    """No latent space and no default sampler: only a sampler named for it draws from it."""

    def __init__(self, config, data):
        super().__init__(config, data)
        self.bias = nn.Parameter(torch.zeros(data.shape))

    def objective(self, batch):
        loss = (torch.sigmoid(self.bias) - batch.x).pow(2).mean()
        return genkit.LossTerms(loss, {"loss": loss.detach()})

    def updates(self):
        return [genkit.Update("model", self.objective)]


class Flat(genkit.Sampler):
    """Every pixel at sigmoid(bias / temperature): the temperature shows in the images."""

    def sample(self, model, n, *, temperature=1.0, generator=None):
        return torch.sigmoid(model.bias / temperature).expand(n, *model.bias.shape).clone()


class Brightness(genkit.Evaluator):
    """Draws its samples (at most --limit of them) and reports their mean pixel."""

    needs_samples = True

    def evaluate(self, ctx):
        drawn = ctx.draw(ctx.sample_count(64))
        note = f"drawn with '{ctx.sampler_name}'"
        return genkit.EvalResult(metrics={"brightness": drawn.mean().item(), "drawn": drawn.shape[0]}, notes=[note])


class NoCondition(genkit.Sampler):
    """Takes steps and guidance, but no condition."""

    def sample(self, model, n, *, steps=1, guidance=None, generator=None):
        return torch.rand(n, *model.data_info.shape, generator=generator)


class DrawingPlugin:
    @genkit.hookimpl
    def register_models(self, register):
        for name, cls in (("linear", Linear), ("labelled", Labelled), ("too-bright", TooBright), ("plain", Plain)):
            register(genkit.ModelSpec(name, Config, cls, train_defaults={"epochs": 1, "batch_size": 32}))

    @genkit.hookimpl
    def register_evaluators(self, register):
        register(genkit.EvaluatorSpec("brightness", Brightness))

    @genkit.hookimpl
    def register_samplers(self, register):
        register(genkit.SamplerSpec("no-condition", NoCondition))
        register(genkit.SamplerSpec("flat", Flat, models=("plain",)))
        # Declared for another model, and its code does not even import: a wrong pairing never gets that far.
        register(genkit.SamplerSpec("pinned", "no_such_module:Sampler", models=("elsewhere",)))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One tiny run of each model (module-scoped: the refusals only read them)."""
    from conftest import register_tiny

    root = tmp_path_factory.mktemp("drawing")
    get_plugin_manager().register_plugin(DrawingPlugin(), "drawing-plugin")
    register_tiny()
    cfg = {"train.dataset": "tiny:64", "train.val_size": 8, "train.grid_samples": 4}
    runs = {
        name: str(genkit.train(name, overrides=cfg, out=root / name, reporter=genkit.Reporter()).run.path)
        for name in ("linear", "labelled", "too-bright", "plain")
    }
    TooBright.scale = 2.0
    return runs


@pytest.fixture
def registered(runs, tiny):
    get_plugin_manager().register_plugin(DrawingPlugin(), "drawing-plugin")
    return runs


@pytest.fixture
def drawing_cli(registered, cli):
    return lambda *args: cli(*[registered.get(a, a) for a in args])


@pytest.mark.parametrize(
    "args, says",
    [
        (["sample", "linear", "--steps", "3"], "--steps does not apply to sampler 'prior' (it takes --temperature)"),
        (
            ["score", "linear", "-m", "coverage", "--steps", "3"],
            "--steps does not apply to sampler 'prior' (it takes --t",
        ),
        (
            ["score", "plain", "-m", "brightness"],
            "metric 'brightness' does not apply to 'plain': it needs samples, and ",
        ),
        (["score", "plain", "-m", "brightness", "--sampler", "flat", "--steps", "2"], "(it takes --temperature)"),
        (["sample", "linear", "--guidance", "1"], "--guidance does not apply to sampler 'prior'"),
        (["sample", "linear", "--label", "1"], "'linear' takes no class label; --label applies only to label-"),
        (["sample", "labelled", "--label", "12"], "--label 12 is out of range: 'labelled' knows classes 0 to 9"),
        (["sample", "labelled", "--sampler", "no-condition"], "sampler 'no-condition' takes no condition, and"),
        (
            ["sample", "linear", "--sampler", "pinned"],
            "sampler 'pinned' does not apply to 'linear': it draws elsewhere models only (samplers that apply: ",
        ),
        (["score", "linear", "-m", "coverage", "--sampler", "pinned"], "it draws elsewhere models only"),
        (["sample", "too-bright"], "sampler 'prior' (from genkit) returned values in ["),
        (["interpolate", "too-bright"], "the decode() of 'too-bright' returned values in ["),
        (["manifold", "too-bright"], "the decode() of 'too-bright' returned values in ["),
        (["interpolate", "labelled"], "interpolation of a conditional model is not supported ('labelled' is cond"),
        (["manifold", "labelled"], "the manifold of a conditional model is not supported ('labelled' is cond"),
    ],
)
def test_each_refusal_is_one_line_with_one_wording(drawing_cli, args, says):
    code, _, err = drawing_cli(*args)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 1 and len(lines) == 1 and "Traceback" not in err, err
    assert says in lines[0], lines[0]
    # it advises no option the command lacks
    options = set(re.findall(r"--[a-z][a-z-]*", drawing_cli(args[0], "--help").out))
    assert set(re.findall(r"--[a-z][a-z-]*", lines[0])) <= options, lines[0]


def test_score_draws_with_the_named_sampler_and_its_options_and_no_more_samples_than_limit(drawing_cli):
    scored = {}
    for temperature in ("0.5", "2"):
        args = ["-m", "brightness", "--sampler", "flat", "--temperature", temperature, "--limit", "16", "--json"]
        code, out, err = drawing_cli("score", "plain", *args)
        assert code == 0, err
        scored[temperature] = json.loads(out)
    assert scored["2"]["metrics"]["drawn"] == 16 and "drawn with 'flat'" in scored["2"]["notes"]
    assert scored["0.5"]["metrics"]["brightness"] != scored["2"]["metrics"]["brightness"]


def test_option_values_are_refused_by_the_api_in_the_cli_words(registered):
    for sampler, options, says in (
        ("no-condition", {"steps": 0}, "--steps must be at least 1 (got 0)"),
        ("no-condition", {"guidance": -1.0}, "--guidance must not be negative (got -1)"),
        ("no-condition", {"guidance": 1.0}, "--guidance applies only to a conditional model, and 'linear' is not one"),
        ("prior", {"temperature": -1.0}, "--temperature must not be negative (got -1)"),
    ):
        with pytest.raises(genkit.GenkitError) as refused:
            genkit.sample(registered["linear"], 4, sampler=sampler, device="cpu", **options)
        assert str(refused.value) == says


def test_a_sampler_declared_for_other_models_is_refused_by_the_console_script(tiny, tmp_path):
    run = genkit.train(
        "vae",
        overrides={"train.dataset": tiny, "train.epochs": 1, "train.val_size": 32, "model.hidden": 16},
        out=tmp_path / "vae",
        reporter=genkit.Reporter(),
    ).run.path
    proc = run_genkit("sample", str(run), "--sampler", "ddim", "--device", "cpu")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "sampler 'ddim' does not apply to 'vae': it draws diffusion models only (samplers that apply: prior)" in (
        " ".join(proc.stderr.split())
    )


class OneClass(genkit.Evaluator):
    """A classifier of the tiny dataset that calls every image a 3 (and no metric worth scoring)."""

    def can_classify(self, dataset):
        return dataset == "tiny"

    def classify(self, images, dataset):
        return torch.full((images.shape[0],), 3, device=images.device)

    def class_probabilities(self, images, dataset):
        return torch.nn.functional.one_hot(self.classify(images, dataset), 10).float()


class OneClassPlugin:
    @genkit.hookimpl
    def register_evaluators(self, register):
        register(genkit.EvaluatorSpec("one-class", OneClass))


def test_interpolate_says_when_it_could_not_pick_two_classes(drawing_cli):
    code, out, err = drawing_cli("interpolate", "linear")  # no encoder, and no classifier for tiny
    assert code == 0, err
    assert "note: no classifier for tiny is installed or trained" in " ".join(out.split())
    get_plugin_manager().register_plugin(OneClassPlugin(), "one-class-plugin")
    code, out, err = drawing_cli("interpolate", "linear")
    assert code == 0, err
    assert "note: the classifier judged all 256 prior draws to be of class 3" in " ".join(out.split())


def test_the_names_the_drawing_path_replaced_still_work_with_a_warning(registered, monkeypatch):
    from genkit import deprecation
    from genkit.drawing import draw
    from genkit.sampling import prior_latents

    monkeypatch.setattr(deprecation, "SEEN", {})  # each deprecation warns once per process
    lm = genkit.load(registered["linear"], "cpu")
    with pytest.warns(genkit.GenkitDeprecationWarning, match="genkit.start_noise"):
        z = prior_latents(lm.model, 3, generator=torch.Generator().manual_seed(0))
    with pytest.warns(genkit.GenkitDeprecationWarning, match="genkit.drawing.drawing"):
        images = draw(lm.model, 3, generator=torch.Generator().manual_seed(0), model_name="linear")
    assert torch.equal(z, genkit.start_noise(lm.model, 3, torch.Generator().manual_seed(0)))
    assert images.shape == (3, 1, 28, 28)
    from genkit.drawing import check_images, check_options, choose_sampler
    from genkit.sampling import check_decodable, grid_condition

    with pytest.warns(genkit.GenkitDeprecationWarning, match="use genkit.find_classifier"):
        from genkit.plugins import find_classifier  # moved to genkit.metrics

    assert check_images is genkit.sampling.check_images and find_classifier is genkit.find_classifier
    with pytest.warns(genkit.GenkitDeprecationWarning, match="genkit.drawing.drawing"):
        name, sampler = choose_sampler(lm.model)
    assert name == "prior" and isinstance(sampler, genkit.Sampler)
    with pytest.raises(CapabilityError, match="--steps does not apply to sampler 'prior'"):
        with pytest.warns(genkit.GenkitDeprecationWarning, match="genkit.drawing.check_options"):
            check_options(name, sampler, {"steps": 3})
    with pytest.warns(genkit.GenkitDeprecationWarning, match="genkit.sampling.check_decodable"):
        genkit.sampling.require_latent(lm.model, "the manifold")
    check_decodable(lm.model, "the manifold")
    with pytest.warns(genkit.GenkitDeprecationWarning, match="cycles the classes"):
        assert grid_condition(lm.model, 4, torch.zeros(2, 1, 28, 28), None, None) == (4, None)
