"""Out-of-distribution scoring by bits per dimension (``genkit score RUN --ood DATASET``)."""

import math

import numpy as np
import pytest
import torch

import genkit


def test_auroc_constructed_cases():
    inliers = np.array([1.0, 2.0, 3.0])
    assert genkit.auroc(inliers, inliers + 10) == 1.0
    assert genkit.auroc(inliers, inliers) == 0.5
    assert genkit.auroc(inliers, inliers - 10) == 0.0
    assert genkit.auroc([0.0, 2.0], [1.0, 3.0]) == 0.75  # 3 of the 4 pairs ordered
    assert genkit.auroc(torch.tensor([0.0]), torch.tensor([0.0, 1.0])) == 0.75  # a tie counts one half
    with pytest.raises(ValueError):
        genkit.auroc([], [1.0])


class NoLikelihood(genkit.GenerativeModel):
    """A model that trains but has no likelihood (as a GAN)."""

    def __init__(self, config, data):
        super().__init__(config, data)
        self.scale = torch.nn.Parameter(torch.ones(()))

    def updates(self):
        def objective(batch):
            loss = (batch.x * self.scale).pow(2).mean()
            return genkit.LossTerms(loss=loss, terms={"loss": loss.detach()})

        return [genkit.Update("model", objective)]


class NoLikelihoodPlugin:
    @genkit.hookimpl
    def register_models(self, register):
        from pydantic import BaseModel, ConfigDict

        class Config(BaseModel):
            model_config = ConfigDict(extra="forbid")

        register(
            genkit.ModelSpec(
                name="nolikelihood", config=Config, build=NoLikelihood, description="test model without a likelihood"
            )
        )


def test_ood_refused_for_a_model_without_likelihood(tiny, quiet, cli):
    genkit.register_plugin(NoLikelihoodPlugin(), "nolikelihood-test")
    run = genkit.train(
        "nolikelihood",
        overrides={"train.dataset": f"{tiny}:64", "train.epochs": 1, "train.val_size": 8},
        reporter=quiet,
    ).run
    code, _, err = cli("score", str(run.path), "--ood", "mnist", "--dataset", tiny)
    assert code == 1
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1
    assert "cannot score outliers" in lines[0] and "no likelihood" in lines[0]


def test_ood_for_the_bernoulli_vae(tiny, quiet, cli, data_dir):
    run = genkit.train(
        "vae",
        overrides={"train.dataset": tiny, "train.epochs": 1, "train.val_size": 32},
        sets=["model.hidden=64"],
        reporter=quiet,
    ).run
    report = genkit.score_ood(run.path, "fashion-mnist", dataset=tiny, limit=48, samples=2)
    assert report.inlier_bpd.shape == (48,) and report.outlier_bpd.shape == (48,)
    assert torch.isfinite(report.inlier_bpd).all() and torch.isfinite(report.outlier_bpd).all()
    assert report.auroc == genkit.auroc(report.inlier_bpd, report.outlier_bpd)
    assert report.plot.is_file() and report.plot.parent == run.path
    code, printed, _ = cli(
        "score", str(run.path), "--ood", "fashion-mnist", "--dataset", tiny, "--limit", "32", "-k", "2", "--json"
    )
    assert code == 0
    # a binarized model's figure is bits per binarized pixel, never called bpd
    assert '"auroc"' in printed and "bits_per_binarized_pixel_fashion-mnist" in printed and '"bpd_' not in printed
    assert report.unit == "bits_per_binarized_pixel"
    scores = run.read_json("scores.json", [])
    assert scores[-1]["likelihood_space"] == "binarized"
    assert scores[-1]["ood"] == "fashion-mnist" and math.isfinite(scores[-1]["metrics"]["auroc"])


def test_ood_needs_a_different_dataset(tiny, quiet):
    run = genkit.train(
        "vae",
        overrides={"train.dataset": tiny, "train.epochs": 1, "train.val_size": 32},
        sets=["model.hidden=32"],
        reporter=quiet,
    ).run
    with pytest.raises(genkit.GenkitError, match="must differ"):
        genkit.score_ood(run.path, tiny, dataset=tiny)


def test_ood_checks_what_the_evaluator_returns_as_score_does(tiny, quiet, cli, monkeypatch):
    run = genkit.train(
        "vae",
        overrides={"train.dataset": tiny, "train.epochs": 1, "train.val_size": 32},
        sets=["model.hidden=16"],
        reporter=quiet,
    ).run
    from genkit.plugins import get_plugin_manager

    nll = get_plugin_manager().evaluator("nll")
    monkeypatch.setattr(nll, "evaluate", lambda ctx: genkit.EvalResult(metrics={}, notes={}))
    for args in (["-m", "nll"], ["--ood", "mnist"]):
        code, _, err = cli("score", str(run.path), "--dataset", tiny, "--limit", "8", *args)
        lines = [line for line in err.splitlines() if line.strip()]
        assert code == 1 and len(lines) == 1 and "metric 'nll' (from genkit)" in lines[0] and "notes" in lines[0], err
