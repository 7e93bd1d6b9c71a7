"""Shared fixtures: every test runs with its own runs and cache directories, offline,
and with the reference datasets from ``../shared/data`` when they are there."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import NamedTuple

import pytest
import torch

import genkit
from genkit.data.sources import EMBEDDED_ROOT
from genkit.plugins import reset_plugin_manager

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def pytest_runtest_setup(item):
    """A test marked ``cuda`` (``cuda(devices=N)``: N GPUs) skips, with the reason, where they are missing."""
    marker = item.get_closest_marker("cuda")
    if marker is None:
        return
    needed = int(marker.kwargs.get("devices", 1))
    present = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if present < needed:
        pytest.skip(f"needs {needed} CUDA GPU{'s' if needed > 1 else ''}; this machine has {present}")


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


def register_tiny() -> str:
    """``tiny``: 512 training and 256 test images of the embedded MNIST subset (``tiny:N``: N training images)."""
    return genkit.register_subset(
        "tiny", "mnist", train=512, test=256, data_dir=str(EMBEDDED_ROOT), description="tiny MNIST subset for tests"
    )


@pytest.fixture
def tiny():
    """Registers the ``tiny`` dataset; train with ``--dataset tiny`` (or ``tiny:N`` for N training images)."""
    return register_tiny()


class CliResult(NamedTuple):
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys):
    """``cli(*args) -> (code, out, err)``: genkit's command line run in this process as the
    ``genkit`` script runs it (plugin commands registered, user errors as one line, exit codes)."""
    from genkit.cli import main

    def run(*args) -> CliResult:
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as exc:
            code = exc.code or 0
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


@pytest.fixture
def quiet():
    return genkit.Reporter()


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
