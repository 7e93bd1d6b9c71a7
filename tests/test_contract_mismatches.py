"""Where a plugin and the core disagree, the user gets one line that says who and what.

Each test registers small in-test plugins (old style: objects, not paths, which
still load) and drives ``genkit`` in-process on the ``tiny`` dataset.
"""

from __future__ import annotations

import io
import json

import pytest
import torch
from pydantic import BaseModel, ConfigDict
from rich.console import Console
from torch import nn

import genkit
from genkit.cli import main
from genkit.plugins import get_plugin_manager
from genkit.training.reporting import Reporter, RichReporter

PLUGIN = "mismatch-plugin"


class SmallConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    latent_dim: int = 2


class SmallLatent(genkit.GenerativeModel):
    """A linear decoder trained to reconstruct from a linear code: tiny and fast."""

    def __init__(self, config, data):
        super().__init__(config, data)
        self.encoder = nn.Linear(data.dims, config.latent_dim)
        self.decoder = nn.Linear(config.latent_dim, data.dims)
        self.latent_shape = (config.latent_dim,)

    def objective(self, batch):
        x = batch.x.flatten(1)
        loss = (torch.sigmoid(self.decoder(self.encoder(x))) - x).pow(2).sum(1).mean()
        return genkit.LossTerms(loss, {"loss": loss.detach()})

    def updates(self):
        return [genkit.Update("model", self.objective)]

    def decode(self, z, condition=None):
        return torch.sigmoid(self.decoder(z)).view(-1, *self.data_info.shape)


class Exploding(SmallLatent):
    def objective(self, batch):
        raise RuntimeError("the objective exploded")


class PerExampleTerm(SmallLatent):
    def objective(self, batch):
        per_image = (torch.sigmoid(self.decoder(self.encoder(batch.x.flatten(1)))) - batch.x.flatten(1)).pow(2).sum(1)
        return genkit.LossTerms(per_image.mean(), {"per_image": per_image.detach()})


class NoSampler(genkit.GenerativeModel):
    """No latent space and no default sampler: it trains, but cannot sample."""

    def __init__(self, config, data):
        super().__init__(config, data)
        self.bias = nn.Parameter(torch.zeros(data.dims))

    def objective(self, batch):
        loss = (torch.sigmoid(self.bias) - batch.x.flatten(1)).pow(2).sum(1).mean()
        return genkit.LossTerms(loss, {"loss": loss.detach()})

    def updates(self):
        return [genkit.Update("model", self.objective)]


class WrongShape(genkit.Sampler):
    name = "wrong-shape"
    description = "returns 5x5 images"

    def sample(self, model, n, *, generator=None):
        return torch.rand(n, 1, 5, 5)


class OutOfRange(genkit.Sampler):
    name = "out-of-range"
    description = "returns values up to 2"

    def sample(self, model, n, *, generator=None):
        return 2 * torch.ones(n, *model.data_info.shape)


class DictNotes(genkit.Evaluator):
    name = "dict-notes"
    description = "returns notes as a dict"

    def evaluate(self, ctx):
        return genkit.EvalResult(metrics={"value": 1.0}, notes={})


def failing_loader(data_dir, arg=None):
    raise ValueError("header says 3 channels, found 1")


class MismatchPlugin:
    GENKIT_HOOKS = 1

    @genkit.hookimpl
    def register_models(self, register):
        for name, cls in (
            ("small", SmallLatent),
            ("exploding", Exploding),
            ("per-example", PerExampleTerm),
            ("no-sampler", NoSampler),
        ):
            register(
                genkit.ModelSpec(
                    name=name, config=SmallConfig, build=cls, train_defaults={"epochs": 1, "batch_size": 32}
                )
            )

    @genkit.hookimpl
    def register_samplers(self, register):
        register(WrongShape())
        register(OutOfRange())

    @genkit.hookimpl
    def register_evaluators(self, register):
        register(DictNotes())

    @genkit.hookimpl
    def register_datasets(self, register):
        register(genkit.DatasetSpec("broken-data", failing_loader, "a loader that raises ValueError"))


@pytest.fixture
def plugin(tiny):
    get_plugin_manager().register_plugin(MismatchPlugin(), PLUGIN)
    return PLUGIN


def one_line(err: str) -> str:
    """The one error line (``genkit train`` prints where the run goes first), with no traceback."""
    lines = [line for line in err.strip().splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def trained(model: str = "small", **overrides) -> str:
    cfg = {"train.dataset": "tiny:64", "train.epochs": 1, "train.batch_size": 32, "train.val_size": 8, **overrides}
    return str(genkit.train(model, overrides=cfg, reporter=Reporter()).run.path)


def test_a_value_error_in_a_dataset_loader_is_one_line_naming_the_plugin(plugin, cli):
    code, _, err = cli("train", "small", "--dataset", "broken-data")
    line = one_line(err)
    assert (
        code == 1
        and f"plugin '{PLUGIN}'" in line
        and "ValueError: header says 3 channels" in line
        and "--debug" in line
    )
    with pytest.raises(ValueError, match="header says"):
        main(["--debug", "train", "small", "--dataset", "broken-data"])


def test_a_runtime_error_in_an_objective_is_one_line_naming_the_plugin(plugin, cli):
    code, _, err = cli("train", "exploding", "--dataset", "tiny:64", "--set", "train.val_size=8")
    line = one_line(err)
    assert code == 1 and f"plugin '{PLUGIN}'" in line and "RuntimeError: the objective exploded" in line


def test_a_loss_term_that_is_not_a_scalar_is_named(plugin, cli):
    code, _, err = cli("train", "per-example", "--dataset", "tiny:64", "--set", "train.val_size=8")
    line = one_line(err)
    assert code == 1 and "'per_image'" in line and "scalar" in line


@pytest.mark.parametrize(
    ("sampler", "says"), [("wrong-shape", "shape [4, 1, 5, 5]"), ("out-of-range", "must be in [0, 1]")]
)
def test_a_sampler_with_wrong_output_is_refused(plugin, cli, sampler, says):
    run = trained()
    code, _, err = cli("sample", run, "-n", "4", "--sampler", sampler)
    line = one_line(err)
    assert code == 1 and f"sampler '{sampler}'" in line and says in line and PLUGIN in line


def test_eval_result_with_dict_notes_is_refused_naming_the_plugin(plugin, cli):
    run = trained()
    code, _, err = cli("score", run, "-m", "dict-notes", "--dataset", "tiny")
    line = one_line(err)
    assert code == 1 and "'dict-notes'" in line and PLUGIN in line and "notes" in line


def test_sample_help_lists_the_samplers(plugin, cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    code, out, _ = cli("sample", "--help")
    flat = " ".join(out.split())
    assert code == 0 and "prior" in flat and "wrong-shape" in flat and "out-of-range" in flat


def test_info_lists_the_samplers_that_apply(plugin, cli):
    from pixel_plugin import PixelPlugin

    get_plugin_manager().register_plugin(PixelPlugin(), "genkit-pixels")
    run = trained()
    code, out, _ = cli("info", run, "--json")
    samplers = json.loads(out)["samplers"]
    assert code == 0 and samplers["default"] == "prior" and {"prior", "wrong-shape"} <= set(samplers["apply"])
    assert "pixel-bernoulli" not in samplers["apply"]  # installed, but it draws only its own model


def test_steps_on_the_prior_sampler_is_one_line(plugin, cli):
    run = trained()
    code, _, err = cli("sample", run, "-n", "4", "--steps", "10")
    line = one_line(err)
    assert code == 1 and "--steps does not apply to sampler 'prior'" in line


def test_a_model_with_no_sampler_says_how_to_get_one(plugin, cli):
    messages: list[str] = []

    class Recorder(Reporter):
        def message(self, text):
            messages.append(text)

    run = str(
        genkit.train(
            "no-sampler", overrides={"train.dataset": "tiny:64", "train.val_size": 8}, reporter=Recorder()
        ).run.path
    )
    assert any("no sample grids" in m and "default sampler" in m for m in messages)
    code, _, err = cli("sample", run, "-n", "4")
    line = one_line(err)
    assert code == 1 and "cannot sample" in line and "default_sampler" in line and "docs/plugins.md" in line


def test_a_val_size_above_a_sixth_is_announced_and_recorded(plugin):
    messages: list[str] = []

    class Recorder(Reporter):
        def message(self, text):
            messages.append(text)

    result = genkit.train("small", overrides={"train.dataset": "tiny:60", "train.val_size": 30}, reporter=Recorder())
    assert any("val_size=30" in m and "sixth" in m and "holding out 10" in m for m in messages)
    assert json.loads((result.run.path / "config.json").read_text())["train"]["val_size"] == 10


def test_progress_off_a_terminal_is_plain_lines(plugin):
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=False, width=120)
    genkit.train(
        "small",
        overrides={"train.dataset": "tiny:64", "train.val_size": 8},
        reporter=RichReporter(console, plain_every=0),
    )
    text = buffer.getvalue()
    assert "epoch 1/1: step 1/2" in text and "epoch 1/1: step 2/2" in text
    assert "\x1b[" not in text and "\r" not in text  # no bar, no cursor movement
