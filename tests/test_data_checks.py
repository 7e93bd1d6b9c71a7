"""Data that cannot mean anything is refused in one line before training: IDX files of the
wrong dtype, shape or count, a PNG that declares 60000x60000 pixels (before decoding it), and
images smaller than a model can take."""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch

from genkit.data.sources import EMBEDDED_ROOT

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torchvision's image I/O notice
IDX_TYPES = {np.uint8: 0x08, np.float32: 0x0D}


def write_idx(path: Path, array: np.ndarray) -> None:
    code = IDX_TYPES[array.dtype.type]
    header = bytes([0, 0, code, array.ndim]) + b"".join(struct.pack(">I", n) for n in array.shape)
    data = array.astype(array.dtype.newbyteorder(">")).tobytes()
    with gzip.open(path, "wb", compresslevel=1) as f:
        f.write(header + data)


def mnist_dir(root: Path, train_images: np.ndarray | None = None, train_labels: np.ndarray | None = None) -> Path:
    """A data directory holding an MNIST of 60 images (or the given training arrays)."""
    from genkit.data.idx import read_idx

    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    source = EMBEDDED_ROOT / "MNIST" / "raw"
    images = read_idx(source / "train-images-idx3-ubyte.gz")[:60].numpy()
    labels = read_idx(source / "train-labels-idx1-ubyte.gz")[:60].numpy()
    write_idx(raw / "train-images-idx3-ubyte.gz", images if train_images is None else train_images)
    write_idx(raw / "train-labels-idx1-ubyte.gz", labels if train_labels is None else train_labels)
    write_idx(raw / "t10k-images-idx3-ubyte.gz", images[:20])
    write_idx(raw / "t10k-labels-idx1-ubyte.gz", labels[:20])
    return root


def one_line(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert "Traceback" not in err and len(lines) >= 1 and lines[-1].startswith("error:"), err
    return " ".join(lines)


@pytest.mark.parametrize(
    "images, labels, expected",
    [
        (np.zeros((60, 28, 28), np.float32), None, "holds torch.float32 values; mnist images are uint8"),
        (np.zeros((60, 32, 32), np.uint8), None, "holds an array of shape [60, 32, 32]; mnist images are [N, 28, 28]"),
        (None, np.zeros(45, np.uint8), "holds 45 labels for the 60 images"),
        (None, np.full(60, 12, np.uint8), "holds label 12; mnist has classes 0 to 9"),
        (np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.uint8), "holds no images"),
    ],
)
def test_idx_files_that_are_not_the_dataset_named_are_refused(cli, tmp_path, images, labels, expected):
    root = mnist_dir(tmp_path / "data", images, labels)
    code, _, err = cli("train", "vae", "--dataset", "mnist", "--data-dir", root, "--epochs", "1")
    assert code == 1 and expected in one_line(err)


def png_header_only(path: Path, width: int, height: int) -> None:
    """A PNG whose header declares ``width`` x ``height`` grey pixels, with a few bytes of data:
    what a decompression bomb looks like to anything that reads only its header."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    )


def test_a_png_declaring_60000_by_60000_pixels_is_refused_before_decoding(cli, tmp_path, monkeypatch):
    import torchvision.io

    folder = tmp_path / "pictures"
    folder.mkdir()
    from torchvision.io import encode_png, write_file

    for i in range(4):
        write_file(str(folder / f"ok{i}.png"), encode_png(torch.zeros(1, 8, 8, dtype=torch.uint8)))
    png_header_only(folder / "bomb.png", 60000, 60000)

    def no_decoding(*args, **kwargs):
        raise AssertionError("an image was decoded")

    monkeypatch.setattr(torchvision.io, "decode_image", no_decoding)
    for dataset in (f"folder:{folder}", f"folder:{folder}?size=28"):
        code, _, err = cli("train", "vae", "--dataset", dataset, "--epochs", "1")
        assert code == 1 and "bomb.png declares 60000x60000 pixels (3,600 megapixels)" in one_line(err)


def test_the_decoded_size_of_a_whole_folder_is_bounded(tmp_path):
    from genkit.data.folder import check_declared_sizes
    from genkit.errors import DataError

    files = []
    for i in range(3):
        png_header_only(tmp_path / f"{i}.png", 1000, 1000)
        files.append(tmp_path / f"{i}.png")
    check_declared_sizes(files, None, budget=3_000_000)
    with pytest.raises(DataError, match="the 3 images declare 0.0 GiB of pixels"):
        check_declared_sizes(files, "3", budget=3_000_000)  # converted to RGB: three bytes a pixel


def test_images_smaller_than_a_model_takes_are_refused(cli, tmp_path):
    from torchvision.io import encode_png, write_file

    folder = tmp_path / "dots"
    folder.mkdir()
    for i in range(40):
        write_file(str(folder / f"{i}.png"), encode_png(torch.full((1, 1, 1), i, dtype=torch.uint8)))
    code, _, err = cli("train", "diffusion", "--dataset", f"folder:{folder}", "--epochs", "1")
    assert code == 1 and "images of 1x1 are smaller than the U-Net's minimum of 4x4" in one_line(err)
