"""Checkpoints as safetensors files: tensors plus JSON metadata, never pickle.

A checkpoint holds the model weights (``model/...``), every optimizer's state
(``optim/NAME/...``), RNG states and other training tensors (``state/...``),
and in the header, as JSON, the config, the epoch, versions and anything else
needed to rebuild the run. Opening a stranger's file is safe: nothing in it is
ever executed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open

from .artifacts import check_digest, save_artifact
from .errors import CheckpointError
from .metadata import FORMAT_NAME, FORMAT_VERSION, format_version

FORMAT = f"{FORMAT_NAME}/{FORMAT_VERSION}"
_META_KEY = "genkit"


@dataclass
class Checkpoint:
    """A loaded checkpoint: tensors by name and the genkit metadata."""

    path: Path
    tensors: dict[str, torch.Tensor]
    meta: dict[str, Any]

    def group(self, prefix: str) -> dict[str, torch.Tensor]:
        """Tensors under ``prefix/`` with the prefix removed."""
        p = prefix.rstrip("/") + "/"
        return {k[len(p) :]: v for k, v in self.tensors.items() if k.startswith(p)}


# -- optimizer state <-> flat tensors + JSON ------------------------------------
def optimizer_to_flat(opt: torch.optim.Optimizer, prefix: str) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Split an optimizer's state dict into tensors and JSON-able metadata."""
    sd = opt.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for pid, state in sd["state"].items():
        for key, value in state.items():
            if torch.is_tensor(value):
                tensors[f"{prefix}/{pid}/{key}"] = value
            else:
                scalars.setdefault(str(pid), {})[key] = value
    groups = [{k: (list(v) if isinstance(v, tuple) else v) for k, v in g.items()} for g in sd["param_groups"]]
    return tensors, {"param_groups": groups, "scalars": scalars}


def optimizer_from_flat(opt: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    """Restore an optimizer from :func:`optimizer_to_flat`'s output."""
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        pid, key = name.split("/", 1)
        state.setdefault(int(pid), {})[key] = value
    for pid, values in meta.get("scalars", {}).items():
        state.setdefault(int(pid), {}).update(values)
    groups = []
    for g in meta["param_groups"]:
        g = dict(g)
        if isinstance(g.get("betas"), list):
            g["betas"] = tuple(g["betas"])
        groups.append(g)
    try:
        opt.load_state_dict({"state": state, "param_groups": groups})
    except (ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"optimizer state does not fit this model: {_first_line(exc)}") from None
    # A saved moment is contiguous; its parameter may not be (channels-last convolution weights).
    # Fused optimizers step both as flat memory, so each moment takes its parameter's layout.
    for group in opt.param_groups:
        for p in group["params"]:
            for key, value in opt.state.get(p, {}).items():
                if isinstance(value, torch.Tensor) and value.shape == p.shape and value.stride() != p.stride():
                    opt.state[p][key] = torch.empty_like(p, dtype=value.dtype).copy_(value)


# -- files ----------------------------------------------------------------------
def save_checkpoint(path: str | Path, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> Path:
    """Write tensors and metadata atomically (a temporary file renamed into place)."""
    return save_artifact(path, tensors, {"format": FORMAT, **meta}, name=_META_KEY)


def read_metadata(path: str | Path) -> dict[str, Any]:
    """Only the genkit metadata of a checkpoint (cheap: reads the header)."""
    return _open(Path(path), tensors=False).meta


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> Checkpoint:
    """Read a genkit checkpoint, with a clear :class:`CheckpointError` for any bad file."""
    return _open(Path(path), tensors=True, device=str(device))


def _open(path: Path, tensors: bool, device: str = "cpu") -> Checkpoint:
    if not path.exists():
        raise CheckpointError(f"no checkpoint at {path}")
    if path.is_dir():
        raise CheckpointError(f"{path} is a directory, not a checkpoint file")
    _reject_foreign_formats(path)
    try:
        with safe_open(str(path), framework="pt", device=device) as f:
            header = f.metadata() or {}
            loaded = {k: f.get_tensor(k) for k in f.keys()} if tensors else {}
    except Exception as exc:  # safetensors reports corruption with several exception types
        raise CheckpointError(
            f"{path} is corrupt or truncated (not a readable safetensors file: {_first_line(exc)})"
        ) from None
    if _META_KEY not in header:
        raise CheckpointError(f"{path} is a safetensors file but not a genkit checkpoint (no genkit metadata)")
    try:
        meta = json.loads(header[_META_KEY])
    except json.JSONDecodeError:
        raise CheckpointError(f"{path}: genkit metadata is not valid JSON") from None
    if not isinstance(meta, dict):
        raise CheckpointError(f"{path}: genkit metadata is not a JSON object")
    format_version(meta, path)
    if tensors:
        check_digest(path, header, loaded, CheckpointError)
    return Checkpoint(path=path, tensors=loaded, meta=meta)


def _reject_foreign_formats(path: Path) -> None:
    with open(path, "rb") as f:
        head = f.read(16)
    if len(head) < 8:
        raise CheckpointError(f"{path} is truncated ({len(head)} bytes): not a checkpoint")
    # A safetensors file is an 8-byte header length then a JSON header; its first
    # byte alone (the length's low byte, 0x80 for one length in 256) says nothing.
    if head[8:9] != b"{" and (head[:1] == b"\x80" or head[:2] == b"PK"):
        raise CheckpointError(
            f"{path} looks like a pickle or torch.save file; genkit only opens safetensors checkpoints and never "
            "unpickles"
        )
    header_len = int.from_bytes(head[:8], "little")
    if header_len > path.stat().st_size - 8:
        raise CheckpointError(
            f"{path} is truncated or not a safetensors file (header of {header_len} bytes in a "
            f"{path.stat().st_size}-byte file)"
        )


def _first_line(exc: Exception) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0][:200]
