"""The image-folder dataset and a model's refusal of a dataset shape it cannot take."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torchvision.io import encode_png, write_file

import genkit
from genkit.errors import DataError
from genkit.plugins import get_plugin_manager

# The test writes its PNGs with torchvision, which announces a future move of its codecs.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def write_png(path: Path, image: torch.Tensor) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_file(str(path), encode_png(image))


def blobs(n: int, channels: int, h: int, w: int, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, 256, (n, channels, h, w), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


@pytest.fixture
def labeled(tmp_path) -> Path:
    """Two class folders of 12x10 RGB images: 'cats' are dark, 'dogs' bright."""
    root = tmp_path / "pets"
    for i, im in enumerate(blobs(20, 3, 12, 10) // 2):
        write_png(root / "cats" / f"{i}.png", im)
    for i, im in enumerate(blobs(20, 3, 12, 10, seed=1) // 2 + 128):
        write_png(root / "dogs" / f"{i}.png", im)
    return root


def test_class_folders_give_labels_and_a_held_out_test_split(labeled):
    data = genkit.load_dataset(f"folder:{labeled}")
    assert data.train_x.dtype == torch.uint8 and data.train_x.shape[1:] == (3, 12, 10)
    assert data.train_x.shape[0] + data.test_x.shape[0] == 40 and data.test_x.shape[0] == 4
    assert data.num_classes == 2 and data.class_names == ["cats", "dogs"]
    # labels follow the folder: every dog (class 1) is bright
    assert (data.train_x[data.train_y == 1].float().mean() > 128) and (
        data.train_x[data.train_y == 0].float().mean() < 128
    )
    # the name reloads the same data (interpolate and score reload by name)
    again = genkit.load_dataset(data.name)
    assert torch.equal(again.train_x, data.train_x) and torch.equal(again.test_y, data.test_y)


def test_resize_and_channel_conversion(labeled):
    data = genkit.load_dataset(f"folder:{labeled}?size=8&channels=1&test=0.25")
    assert data.train_x.shape[1:] == (1, 8, 8) and data.test_x.shape[0] == 10
    assert data.name.endswith("?channels=1&size=8&test=0.25")
    wide = genkit.load_dataset(f"folder:{labeled}?size=6x9")
    assert wide.train_x.shape[1:] == (3, 6, 9)


def test_resizing_a_constant_image_keeps_its_value(tmp_path):
    write_png(tmp_path / "a.png", torch.full((1, 30, 20), 77, dtype=torch.uint8))
    write_png(tmp_path / "b.png", torch.full((1, 7, 7), 200, dtype=torch.uint8))
    data = genkit.load_dataset(f"folder:{tmp_path}?size=14&test=0.5")
    values = sorted(int(t.unique()) for t in (data.train_x, data.test_x))
    assert values == [77, 200] and data.num_classes is None and data.train_y is None


def test_train_test_layout(tmp_path):
    for split, n in (("train", 6), ("test", 3)):
        for cls in ("a", "b"):
            for i, im in enumerate(blobs(n, 1, 5, 5)):
                write_png(tmp_path / split / cls / f"{i}.png", im)
    data = genkit.load_dataset(f"folder:{tmp_path}")
    assert data.train_x.shape[0] == 12 and data.test_x.shape[0] == 6
    assert data.test_y.tolist() == [0, 0, 0, 1, 1, 1]


@pytest.mark.parametrize(
    "setup, arg, message",
    [
        (lambda r: None, "", "needs a path"),
        (lambda r: None, "/nonexistent/dir", "is not a directory"),
        (lambda r: (r / "x.txt").write_text("hi"), "{root}", "no images"),
        (
            lambda r: [write_png(r / "a.png", blobs(1, 1, 4, 4)[0]), write_png(r / "b.png", blobs(1, 1, 5, 4)[0])],
            "{root}",
            "different sizes (4x4 and 5x4); add ?size=",
        ),
        (
            lambda r: [write_png(r / "a.png", blobs(1, 1, 4, 4)[0]), write_png(r / "b.png", blobs(1, 3, 4, 4)[0])],
            "{root}",
            "1 and 3 channels",
        ),
        (
            lambda r: [
                write_png(r / "a.png", blobs(1, 1, 4, 4)[0]),
                write_png(r / "c" / "b.png", blobs(1, 1, 4, 4)[0]),
            ],
            "{root}",
            "both at its top level and in subfolders",
        ),
        (
            lambda r: [(r / "bad.png").write_bytes(b"not a png"), write_png(r / "b.png", blobs(1, 1, 4, 4)[0])],
            "{root}",
            "cannot decode",
        ),
        (lambda r: write_png(r / "a.png", blobs(1, 1, 4, 4)[0]), "{root}", "at least 2 are needed"),
        (lambda r: None, "{root}?colour=red", "unknown option 'colour'"),
        (lambda r: None, "{root}?size=0", "size must be"),
        (lambda r: None, "{root}?channels=2", "channels must be one of"),
        (lambda r: None, "{root}?test=0.9", "test must be a fraction"),
    ],
)
def test_clear_errors(tmp_path, setup, arg, message):
    setup(tmp_path)
    with pytest.raises(DataError, match=message.replace("?", r"\?").replace("(", r"\(").replace(")", r"\)")):
        genkit.load_dataset(f"folder:{arg.format(root=tmp_path)}")


def test_vae_trains_on_a_folder_and_interpolates(labeled, quiet):
    result = genkit.train(
        "vae",
        overrides={"train.dataset": f"folder:{labeled}", "train.epochs": 1, "train.batch_size": 8},
        sets=["model.hidden=32"],
        reporter=quiet,
    )
    assert result.run.read_json("manifest.json")["dataset"].startswith("folder:")
    pic = genkit.interpolate(result.run.path, 3)
    assert pic.images.shape[-3:] == (3, 12, 10)


def test_model_refuses_a_shape_it_cannot_take_before_training(labeled, quiet, tmp_path):
    vae = get_plugin_manager().model("vae")

    class SquareOnly:
        @genkit.hookimpl
        def register_models(self, register):
            def accepts(info: genkit.DataInfo):
                c, h, w = info.shape
                return (
                    None
                    if (c, h, w) == (1, 28, 28)
                    else "it is built for 1x28x28 images (resize with folder:PATH?size=28&channels=1)"
                )

            register(genkit.ModelSpec(name="square", config=vae.config, build=vae.build, accepts=accepts))

    genkit.register_plugin(SquareOnly(), "square")
    with pytest.raises(DataError) as caught:
        genkit.train(
            "square",
            overrides={"train.dataset": f"folder:{labeled}", "train.epochs": 1},
            out=tmp_path / "refused",
            reporter=quiet,
        )
    message = str(caught.value)
    assert (
        "\n" not in message
        and "model 'square' cannot train on folder:" in message
        and "(3x12x10 images): it is built for 1x28x28" in message
    )
    assert not (tmp_path / "refused").exists()
    # with the resize it asks for, the same folder trains
    result = genkit.train(
        "square",
        overrides={"train.dataset": f"folder:{labeled}?size=28&channels=1", "train.epochs": 1, "train.batch_size": 8},
        sets=["model.hidden=16"],
        reporter=quiet,
    )
    assert result.epochs == 1
