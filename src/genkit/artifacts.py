"""Named safetensors artifacts: tensors plus JSON metadata under one header key.

What a plugin keeps on disk besides run checkpoints (a judge per dataset, a
fitted reference) is one safetensors file whose header holds the plugin's
metadata as JSON under a name of its own. Writes are atomic and durable: a
uniquely named temporary file in the target directory, flushed to disk, then
renamed into place, so concurrent writers and a crash never leave a torn file.
Reading never unpickles.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from .errors import CheckpointError


class ArtifactError(CheckpointError):
    """An artifact file is missing, unreadable, or holds no metadata under the expected name."""


def save_artifact(path: str | Path, tensors: dict[str, torch.Tensor], meta: dict[str, Any], *, name: str) -> Path:
    """Write ``tensors`` (moved to the CPU) with ``meta`` as JSON under header key ``name``, atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    flat = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    header = {name: json.dumps(meta, default=_json_default)}
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        save_file(flat, tmp, metadata=header)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def load_artifact(
    path: str | Path, *, name: str, device: str | torch.device = "cpu"
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The tensors (on ``device``) and the metadata saved under ``name`` by :func:`save_artifact`.

    Raises :class:`ArtifactError` with one line for a missing, corrupt or foreign file.
    """
    path = Path(path)
    if not path.is_file():
        raise ArtifactError(f"no file at {path}")
    try:
        with safe_open(str(path), framework="pt", device=str(device)) as f:
            header = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as exc:  # safetensors reports corruption with several exception types
        raise ArtifactError(f"{path} is corrupt or not a safetensors file ({type(exc).__name__})") from None
    if name not in header:
        raise ArtifactError(f"{path} is a safetensors file without '{name}' metadata")
    try:
        meta = json.loads(header[name])
    except json.JSONDecodeError:
        raise ArtifactError(f"{path}: the '{name}' metadata is not valid JSON") from None
    return tensors, meta


def _json_default(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return value.item()
    if isinstance(value, (set, tuple)):
        return list(value)
    raise TypeError(f"cannot store {type(value).__name__} in artifact metadata")
