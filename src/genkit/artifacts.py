"""Named safetensors artifacts: tensors plus JSON metadata under one header key.

What a plugin keeps on disk besides run checkpoints (a judge per dataset, a
fitted reference) is one safetensors file whose header holds the plugin's
metadata as JSON under a name of its own. Writes are atomic and durable: a
uniquely named temporary file in the target directory, flushed to disk, then
renamed into place, so concurrent writers and a crash never leave a torn file.
Reading never unpickles.

safetensors has no checksum, so the header also holds a SHA-256 digest of the
tensor data (:func:`tensor_digest`), checked on every load: a flipped bit or a
partial copy is one line naming the damaged file. A file written before digests
existed loads with a note.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from .errors import CheckpointError, GenkitNote
from .files import atomic_write

#: The header key of the digest of the tensor data.
DIGEST_KEY = "genkit_digest"


class ArtifactError(CheckpointError):
    """An artifact file is missing, unreadable, or holds no metadata under the expected name."""


def save_artifact(path: str | Path, tensors: dict[str, torch.Tensor], meta: dict[str, Any], *, name: str) -> Path:
    """Write ``tensors`` (moved to the CPU) with ``meta`` as JSON under header key ``name``, atomically,
    with the digest of the tensor data; a failed write is a :class:`genkit.files.WriteError` naming the file."""
    flat = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    header = {name: json.dumps(meta, default=_json_default), DIGEST_KEY: tensor_digest(flat)}
    return atomic_write(path, lambda tmp: save_file(flat, tmp, metadata=header))


def tensor_digest(tensors: dict[str, torch.Tensor]) -> str:
    """``sha256:HEX`` of every tensor's name, dtype, shape and bytes, in name order."""
    digest = hashlib.sha256()
    for key in sorted(tensors):
        t = tensors[key].detach()
        if t.device.type != "cpu":
            t = t.cpu()
        digest.update(f"{key}|{t.dtype}|{tuple(t.shape)}|".encode())
        digest.update(memoryview(t.contiguous().reshape(-1).view(torch.uint8).numpy()))
    return "sha256:" + digest.hexdigest()


def check_digest(path: Path, header: dict[str, str], tensors: dict[str, torch.Tensor], error: type[Exception]) -> None:
    """Refuse tensors that do not match the digest their header holds; note a file that holds none."""
    stored = header.get(DIGEST_KEY)
    if stored is None:
        warnings.warn(
            f"{path} was written without a digest of its tensor data (by an older genkit), so damage to it cannot be "
            "detected; saving it again adds one",
            GenkitNote,
            stacklevel=3,
        )
        return
    if tensor_digest(tensors) != stored:
        raise error(
            f"{path} is damaged: its tensor data do not match the digest in its header (a flipped bit, a partial copy "
            "or an edit); use another checkpoint or train again"
        )


def load_artifact(
    path: str | Path, *, name: str, device: str | torch.device = "cpu"
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The tensors (on ``device``) and the metadata saved under ``name`` by :func:`save_artifact`.

    Raises :class:`ArtifactError` with one line for a missing, corrupt, damaged or foreign file.
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
    check_digest(path, header, tensors, ArtifactError)
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
