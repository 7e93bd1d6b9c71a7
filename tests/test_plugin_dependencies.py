"""Cross-plugin dependencies are declared, and a model whose default metrics come from an
absent plugin falls back to what applies, with a one-line note."""

import re
from importlib import metadata

import pytest

import genkit
from genkit.errors import CapabilityError
from genkit.plugins import get_plugin_manager, reset_plugin_manager


def test_every_default_metric_comes_from_the_model_plugin_the_core_or_a_declared_dependency():
    pm = get_plugin_manager()
    models, evaluators = pm.registries["models"], pm.registries["evaluators"]
    checked = 0
    for name in models.names():
        package = models.owner(name).package
        declared = {re.split(r"[\s;<>=!~\[(]", r, maxsplit=1)[0] for r in metadata.requires(package) or []}
        for metric in pm.model(name).default_metrics:
            provider = evaluators.owner(metric).package
            assert provider in (package, "genkit") or provider in declared, (
                f"{package}: default metric '{metric}' comes from {provider}, not declared"
            )
            checked += 1
    assert checked


class VAEWithJudgeDefaults:
    """A model whose default metrics mix a core metric and the judge's."""

    @genkit.hookimpl
    def register_models(self, register):
        register(
            genkit.ModelSpec(
                name="vae-judged",
                config="genkit_vae.model:VAEConfig",
                build="genkit_vae.model:BernoulliVAE",
                description="test",
                default_metrics=("fd", "elbo"),
            )
        )


def _without_judge(monkeypatch, *plugins):
    monkeypatch.setenv("GENKIT_PLUGINS", ",".join(plugins))
    reset_plugin_manager()
    pm = get_plugin_manager()
    from conftest import register_tiny

    register_tiny()
    assert "fd" not in pm.registries["evaluators"].names()
    return pm


def test_default_metrics_fall_back_with_a_note(monkeypatch, quiet, tmp_path):
    pm = _without_judge(monkeypatch, "vae")
    pm.register_plugin(VAEWithJudgeDefaults(), "vae-judged")
    genkit.train(
        "vae-judged",
        overrides={"train.dataset": "tiny", "train.epochs": 1, "train.val_size": 32, "model.hidden": 16},
        reporter=quiet,
        out=tmp_path / "r",
    )
    report = genkit.score(tmp_path / "r", limit=16, device="cpu")
    assert list(report.results) == ["elbo"]
    assert (
        len(report.messages) == 1
        and "default metrics fd of 'vae-judged' are not available" in report.messages[0]
        and "Scoring with elbo" in report.messages[0]
    )


def test_a_gan_without_the_judge_is_one_line_naming_it(monkeypatch, quiet, tmp_path):
    _without_judge(monkeypatch, "gan")
    genkit.train(
        "gan",
        overrides={"train.dataset": "tiny:64", "train.epochs": 1, "train.val_size": 0},
        reporter=quiet,
        out=tmp_path / "g",
    )
    with pytest.raises(CapabilityError, match="no installed metric applies to 'gan'.*genkit-judge provides them"):
        genkit.score(tmp_path / "g", limit=16, device="cpu")
