"""A model with no latent space is first class: it trains with sample grids, samples and is
scored through the sampler its plugin registers and names as ``default_sampler``."""

from __future__ import annotations

import json

import pytest
import torch
from judge_helpers import install_tiny_judge
from pixel_plugin import BernoulliPixels, PixelPlugin, PixelSampler, PixelsConfig

import genkit
from genkit.plugins import get_plugin_manager
from genkit.training.reporting import Reporter


@pytest.fixture
def pixels(tiny):
    get_plugin_manager().register_plugin(PixelPlugin(), "genkit-pixels")
    return "pixels"


def test_likelihood_is_exact():
    model = BernoulliPixels(PixelsConfig(), genkit.DataInfo(name="t", shape=(1, 2, 2)))
    with torch.no_grad():
        model.logits.copy_(torch.tensor([[[0.0, 2.0], [-1.0, 0.5]]]))
    x = torch.tensor([[[[1.0, 0.0], [1.0, 1.0]]]])
    p = torch.sigmoid(model.logits.flatten())
    expected = torch.log(torch.stack([p[0], 1 - p[1], p[2], p[3]])).sum()
    assert torch.allclose(model.log_likelihood(genkit.Batch(x=x)), expected.view(1))
    assert not isinstance(model, genkit.LatentModel) and isinstance(model, genkit.LikelihoodModel)


def test_sampler_takes_temperature_and_reports_progress():
    model = BernoulliPixels(PixelsConfig(), genkit.DataInfo(name="t", shape=(1, 4, 4)))
    with torch.no_grad():
        model.logits.fill_(0.5)
    seen = []
    cold = PixelSampler().sample(
        model,
        64,
        temperature=0.01,
        generator=torch.Generator().manual_seed(0),
        progress=lambda d, t: seen.append((d, t)),
    )
    assert cold.shape == (64, 1, 4, 4) and bool((cold == 1).all()) and seen == [(1, 1)]


def test_trains_with_grids_samples_and_is_scored_without_a_sampler_option(pixels, cli):
    install_tiny_judge()
    run = genkit.train(pixels, overrides={"train.dataset": "tiny", "train.val_size": 64}, reporter=Reporter()).run.path
    assert (run / "samples_start.png").is_file() and (run / "samples_end.png").is_file()
    code, _, err = cli("sample", str(run), "-n", "16")
    assert code == 0, err
    assert (run / "samples.png").is_file()
    code, out, err = cli("info", str(run), "--json")
    info = json.loads(out)
    assert code == 0 and info["samplers"]["default"] == "pixel-bernoulli" and "likelihood" in info["capabilities"]
    code, out, err = cli("score", str(run), "-m", "coverage", "-m", "nll", "-m", "fd", "--limit", "100", "--json")
    report = json.loads(out)
    assert code == 0, err
    assert report["metrics"]["classes_seen"] >= 1 and 0 < report["metrics"]["bits_per_binarized_pixel"] < 1
    assert any("100 samples vs 100 test images" in note for note in report["notes"])  # --limit, not 10,000
