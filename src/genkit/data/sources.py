"""Where dataset files come from: a data directory, a download, or the embedded subset.

The data directory is the first of ``--data-dir``, ``GENKIT_DATA_DIR`` and the
user cache. Files follow torchvision's layout (``ROOT/MNIST/raw/*.gz``), so a
torchvision download into the cache is found the next time. With no files and
no network, MNIST falls back to a small subset shipped inside the package.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from ..cache import cache_dir as cache_dir  # its home is genkit.cache; kept importable from here
from ..errors import DataError

DATA_DIR_ENV = "GENKIT_DATA_DIR"
OFFLINE_ENV = "GENKIT_OFFLINE"
EMBEDDED_ROOT = Path(__file__).parent / "embedded"


def data_root(explicit: str | None) -> tuple[Path, bool]:
    """The data directory and whether the user named it (explicitly or by environment)."""
    if explicit:
        return Path(explicit).expanduser(), True
    if os.environ.get(DATA_DIR_ENV):
        return Path(os.environ[DATA_DIR_ENV]).expanduser(), True
    return cache_dir() / "data", False


def has_files(root: Path, folder: str, files: list[str]) -> bool:
    raw = root / folder / "raw"
    return all((raw / f).is_file() or (raw / f.removesuffix(".gz")).is_file() for f in files)


def raw_path(root: Path, folder: str, name: str) -> Path:
    raw = root / folder / "raw"
    return raw / name if (raw / name).is_file() else raw / name.removesuffix(".gz")


def try_download(root: Path, torchvision_class: str) -> str | None:
    """Download with torchvision; returns None on success, else the reason it failed."""
    if os.environ.get(OFFLINE_ENV, "").strip() not in ("", "0"):
        return f"{OFFLINE_ENV} is set"
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(15)
    try:
        import torchvision.datasets as tvd

        root.mkdir(parents=True, exist_ok=True)
        for train in (True, False):
            getattr(tvd, torchvision_class)(str(root), train=train, download=True)
        return None
    except Exception as exc:  # no network, a mirror down, a read-only disk...
        return f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
    finally:
        socket.setdefaulttimeout(previous)


def locate(
    explicit: str | None, folder: str, files: list[str], torchvision_class: str, embedded: bool
) -> tuple[Path, str]:
    """Find a dataset's files: returns (root, source description)."""
    root, named = data_root(explicit)
    if has_files(root, folder, files):
        return root, str(root)
    if named and not root.is_dir():
        raise DataError(f"data directory {root} does not exist")
    reason = try_download(root, torchvision_class)
    if reason is None and has_files(root, folder, files):
        return root, f"{root} (downloaded)"
    if named:
        raise DataError(
            f"no {folder} files under {root} (expected {root / folder / 'raw' / files[0]}) and download failed: "
            f"{reason}"
        )
    if embedded and has_files(EMBEDDED_ROOT, folder, files):
        return EMBEDDED_ROOT, "embedded MNIST subset (6,000 train / 1,000 test images)"
    raise DataError(f"{folder} not found in {root} and download failed ({reason}); set --data-dir or {DATA_DIR_ENV}")
