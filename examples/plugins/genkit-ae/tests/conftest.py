"""Test fixtures: each test gets its own genkit run and cache directories, offline,
and a small generated image folder to train on (no download needed)."""

import pytest
import torch

IMAGE_SIZE = 12


@pytest.fixture(autouse=True)
def isolated_genkit(tmp_path, monkeypatch):
    monkeypatch.setenv("GENKIT_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("GENKIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("GENKIT_OFFLINE", "1")
    monkeypatch.delenv("GENKIT_PLUGINS", raising=False)
    torch.manual_seed(0)


@pytest.fixture
def bars(tmp_path):
    """``folder:PATH`` of 96 grayscale images in two classes: horizontal and vertical bars."""
    import warnings

    from torchvision.io import encode_png, write_file

    root = tmp_path / "bars"
    generator = torch.Generator().manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torchvision announces a future codec move
        for i in range(96):
            image = torch.zeros(1, IMAGE_SIZE, IMAGE_SIZE, dtype=torch.uint8)
            row = int(torch.randint(1, IMAGE_SIZE - 2, (1,), generator=generator))
            kind = "horizontal" if i % 2 else "vertical"
            if kind == "horizontal":
                image[:, row : row + 2, :] = 255
            else:
                image[:, :, row : row + 2] = 255
            (root / kind).mkdir(parents=True, exist_ok=True)
            write_file(str(root / kind / f"{i}.png"), encode_png(image))
    return f"folder:{root}"
