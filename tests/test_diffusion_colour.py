"""Colour images: the generated shapes folder loads at 28 or 32 pixels, diffusion and the
DCGAN-style GAN train one epoch on it at 32x32 RGB, and their pictures are in colour."""

from __future__ import annotations

import matplotlib.image
import pytest
import torch

import genkit

TINY_UNET = {"model.channels": 8, "model.channel_mults": [1, 2], "model.timesteps": 50, "model.sample_steps": 3}


def _folder(root, size=32, channels=3):
    return f"folder:{root}?size={size}&channels={channels}"


@pytest.mark.parametrize("size", [28, 32])
def test_colour_folder_of_mixed_sizes_loads_with_a_declared_resize(colour_folder, size):
    data = genkit.load_dataset(_folder(colour_folder, size))
    assert data.train_x.shape[1:] == (3, size, size) and data.train_x.dtype == torch.uint8
    assert data.num_classes == 2 and data.train_x.shape[0] + data.test_x.shape[0] == 48
    spread = data.train_x.float().std(dim=1).mean()  # channels differ: the images are not grey
    assert spread > 10
    grey = genkit.load_dataset(_folder(colour_folder, size, channels=1))
    assert grey.train_x.shape[1:] == (1, size, size)


def test_colour_folder_without_a_size_is_one_line(colour_folder):
    with pytest.raises(genkit.GenkitError, match=r"different sizes .*add \?size=N"):
        genkit.load_dataset(f"folder:{colour_folder}?channels=3")


def _is_colour_png(path) -> bool:
    pixels = matplotlib.image.imread(str(path))[..., :3]
    return float(abs(pixels[..., 0] - pixels[..., 1]).max() + abs(pixels[..., 1] - pixels[..., 2]).max()) > 0.05


@pytest.mark.parametrize(
    "model, overrides",
    [
        ("diffusion", TINY_UNET),
        ("diffusion", {**TINY_UNET, "model.objective": "flow-matching", "model.conditional": True}),
        ("gan", {"model.architecture": "dcgan", "model.channels": 8, "model.latent_dim": 16}),
    ],
)
def test_trains_one_epoch_on_32x32_rgb_and_draws_colour(colour_folder, quiet, model, overrides):
    settings = {
        "train.dataset": _folder(colour_folder),
        "train.epochs": 1,
        "train.batch_size": 16,
        "train.val_size": 4,
        "train.grid_samples": 4,
        **overrides,
    }
    result = genkit.train(model, overrides=settings, reporter=quiet)
    assert result.metrics and all(v == v for v in result.metrics[-1]["train"].values())  # finite, no NaN
    lm = genkit.load(result.run.path)
    images = lm.model.decode(torch.randn(2, *lm.model.latent_shape), None)
    assert images.shape == (2, 3, 32, 32)
    assert _is_colour_png(result.run.file("samples_start.png" if model == "gan" else "samples_end.png"))
