"""Shared fixtures: every test runs with its own runs and cache directories, offline,
and with the reference datasets from ``../shared/data`` when they are there."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest
import torch

import genkit
from genkit.data.datasets import ImageDataset
from genkit.data.sources import EMBEDDED_ROOT
from genkit.plugins import get_plugin_manager, reset_plugin_manager

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(autouse=True)
def isolated_genkit(tmp_path, monkeypatch):
    monkeypatch.setenv("GENKIT_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("GENKIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("GENKIT_OFFLINE", "1")
    monkeypatch.delenv("GENKIT_PLUGINS", raising=False)
    if not os.environ.get("GENKIT_DATA_DIR") and SHARED_DATA.is_dir():
        monkeypatch.setenv("GENKIT_DATA_DIR", str(SHARED_DATA))
    reset_plugin_manager()
    torch.manual_seed(0)
    yield
    reset_plugin_manager()


@pytest.fixture
def data_dir() -> str:
    """The reference datasets (MNIST, Fashion-MNIST); tests needing them skip without them."""
    path = os.environ.get("GENKIT_DATA_DIR") or str(SHARED_DATA)
    if not (Path(path) / "MNIST" / "raw").is_dir():
        pytest.skip("reference datasets not available (set GENKIT_DATA_DIR)")
    return path


class TinyMNIST:
    """A test plugin: ``tiny`` is 512 training and 256 test images of the embedded MNIST subset."""

    @genkit.hookimpl
    def register_datasets(self, register):
        def load(data_dir, arg=None):
            full = genkit.load_dataset("mnist", str(EMBEDDED_ROOT))
            n_train = int(arg) if arg else 512
            return ImageDataset(
                name="tiny", train_x=full.train_x[:n_train], train_y=full.train_y[:n_train],
                test_x=full.test_x[:256], test_y=full.test_y[:256], num_classes=10, source="tiny test subset",
            )

        register(genkit.DatasetSpec("tiny", load, "tiny MNIST subset for tests"))


@pytest.fixture
def tiny():
    """Registers the ``tiny`` dataset; train with ``--dataset tiny`` (or ``tiny:N`` for N training images)."""
    get_plugin_manager().register_plugin(TinyMNIST(), "tiny-data")
    return "tiny"


@pytest.fixture
def quiet():
    from genkit.training.reporting import Reporter

    return Reporter()


@pytest.fixture
def bars_folder():
    """``bars_folder(root) -> "folder:ROOT"``: writes 64 labeled 12x12 PNGs (horizontal and vertical bars)."""
    return write_bars


@pytest.fixture
def colour_folder(tmp_path) -> Path:
    """A folder of coloured discs and squares on coloured backgrounds (RGB PNGs of mixed sizes)."""
    from colour_shapes import write_colour_shapes

    return write_colour_shapes(tmp_path / "shapes")


def write_bars(root: Path, n: int = 64, size: int = 12) -> str:
    """A labeled image folder (horizontal and vertical bars) for ``--dataset folder:PATH``."""
    from torchvision.io import encode_png, write_file

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        for i in range(n):
            image = torch.zeros(1, size, size, dtype=torch.uint8)
            at = 1 + i % (size - 3)
            kind = "horizontal" if i % 2 else "vertical"
            if kind == "horizontal":
                image[:, at : at + 2, :] = 255
            else:
                image[:, :, at : at + 2] = 255
            (root / kind).mkdir(parents=True, exist_ok=True)
            write_file(str(root / kind / f"{i}.png"), encode_png(image))
    return f"folder:{root}"
