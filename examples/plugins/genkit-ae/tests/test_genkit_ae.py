"""Tests of genkit-ae; run them after installing the package (pip install -e . && pytest)."""

import json
import subprocess
import sys

import torch

import genkit
from genkit_ae.model import Ae, AeConfig, accepts


def small_model(shape=(1, 8, 8)) -> Ae:
    return Ae(AeConfig(latent_dim=3, hidden=32), genkit.DataInfo(name="test", shape=shape))


def test_genkit_finds_the_installed_plugin():
    # A fresh process sees only what is installed: the entry point must work.
    command = [sys.executable, "-m", "genkit", "plugins", "--json"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    plugin = next(p for p in json.loads(out) if p["name"] == "ae")
    assert plugin["status"] == "ok", plugin["error"]
    assert plugin["provides"] == {"models": ["ae"]}


def test_hook_module_is_cheap_to_import():
    # genkit imports every plugin's hook module on every command: no torch there.
    code = "import sys, genkit_ae; print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_shapes_and_capabilities():
    model = small_model(shape=(3, 6, 5))
    assert isinstance(model, genkit.LatentModel) and isinstance(model, genkit.EncoderModel)
    x = torch.randint(0, 256, (4, 3, 6, 5), dtype=torch.uint8)
    batch = model.prepare_batch(genkit.Batch(x=x))
    terms = model.updates()[0].objective(batch)
    assert terms.loss.ndim == 0 and set(terms.terms) == {"recon"}
    z = model.encode(batch)
    assert z.shape == (4, 3)
    images = model.decode(z)
    assert images.shape == (4, 3, 6, 5) and 0 <= images.min() and images.max() <= 1


def test_encode_whitens_the_codes_it_was_fitted_on():
    model = small_model()
    batch = model.prepare_batch(genkit.Batch(x=torch.randint(0, 256, (512, 1, 8, 8), dtype=torch.uint8)))
    with torch.no_grad():
        model._track(model.encoder(batch.x.flatten(1)), momentum=1.0)
        z = model.encode(batch)
    assert torch.allclose(z.mean(0), torch.zeros(3), atol=1e-3)
    assert torch.allclose(torch.cov(z.T), torch.eye(3), atol=1e-2)


def test_running_statistics_follow_the_codes():
    model = small_model()
    codes = torch.randn(4096, 3) * torch.tensor([3.0, 1.0, 0.5]) + torch.tensor([2.0, 0.0, -1.0])
    model._track(codes, momentum=1.0)
    assert torch.allclose(model.code_mean, torch.tensor([2.0, 0.0, -1.0]), atol=0.15)
    assert torch.allclose(model.code_cov.diagonal(), torch.tensor([9.0, 1.0, 0.25]), rtol=0.1)


def test_loss_falls_on_a_fixed_batch():
    model = small_model()
    # four black-and-white patterns, eight copies each: an autoencoder can learn them exactly
    patterns = torch.randint(0, 2, (4, 1, 8, 8), dtype=torch.uint8, generator=torch.Generator().manual_seed(0)) * 255
    batch = model.prepare_batch(genkit.Batch(x=patterns.repeat(8, 1, 1, 1)))
    optimizer = model.configure_optimizers(1e-2)["model"]
    first = model.reconstruction(batch).loss.item()
    for _ in range(100):
        optimizer.zero_grad()
        model.reconstruction(batch).loss.backward()
        optimizer.step()
    assert model.reconstruction(batch).loss.item() < 0.3 * first


def test_refuses_images_too_large_for_an_mlp():
    assert accepts(genkit.DataInfo(name="small", shape=(3, 32, 32))) is None
    assert "too large" in accepts(genkit.DataInfo(name="huge", shape=(3, 512, 512)))


def test_train_sample_interpolate_and_reload(bars, tmp_path):
    result = genkit.train("ae", overrides={"train.dataset": bars, "train.epochs": 2, "train.batch_size": 16}, sets=["model.hidden=64"])
    assert len(result.metrics) == 2
    assert (result.run.path / "checkpoints" / "last.safetensors").is_file()
    assert genkit.sample(result.run.path, 8).images.shape == (8, 1, 12, 12)
    assert genkit.interpolate(result.run.path, 3).path.is_file()
    # the checkpoints hold the fitted Gaussian too, not the N(0, I) it started from
    assert (result.run.path / "checkpoints" / "best.safetensors").is_file()
    model = genkit.load(result.run.path, device="cpu").model
    assert not torch.allclose(model.code_cov, torch.eye(model.latent_shape[0]))
    with torch.no_grad():
        images = model.decode(torch.randn(4, model.latent_shape[0]))
    assert images.shape == (4, 1, 12, 12) and 0 <= images.min() and images.max() <= 1
