"""Assembling and restoring the full training state in a checkpoint."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from ..checkpoint import Checkpoint, optimizer_from_flat, optimizer_to_flat, save_checkpoint
from ..errors import CheckpointError


@dataclass
class Progress:
    """Where training stands: ``epoch`` epochs are complete and ``step`` steps of the next are done."""

    epoch: int = 0
    step: int = 0
    global_step: int = 0
    best: float | None = None


def rng_tensors(device: torch.device) -> dict[str, torch.Tensor]:
    out = {"state/rng/cpu": torch.get_rng_state()}
    if device.type == "cuda":
        out["state/rng/cuda"] = torch.cuda.get_rng_state(device)
    return out


def restore_rng(ckpt: Checkpoint, device: torch.device) -> None:
    if "state/rng/cpu" in ckpt.tensors:
        torch.set_rng_state(ckpt.tensors["state/rng/cpu"].to(torch.uint8).cpu())
    if device.type == "cuda" and "state/rng/cuda" in ckpt.tensors:
        torch.cuda.set_rng_state(ckpt.tensors["state/rng/cuda"].to(torch.uint8).cpu(), device)


def save_training_checkpoint(
    path,
    model: torch.nn.Module,
    optimizers: dict[str, torch.optim.Optimizer],
    progress: Progress,
    meta: dict[str, Any],
    extra: dict[str, torch.Tensor] | None = None,
    device: torch.device | None = None,
):
    tensors = {f"model/{k}": v for k, v in model.state_dict().items()}
    optim_meta = {}
    for name, opt in optimizers.items():
        flat, om = optimizer_to_flat(opt, f"optim/{name}")
        tensors.update(flat)
        optim_meta[name] = om
    tensors.update(rng_tensors(device or torch.device("cpu")))
    tensors.update(extra or {})
    meta = {**meta, "progress": progress.__dict__, "optimizers": optim_meta}
    return save_checkpoint(path, tensors, meta)


#: Prefixes that wrappers add to parameter names: DDP's ``module.`` and torch.compile's ``_orig_mod.``.
WRAPPER_PREFIXES = ("module.", "_orig_mod.")


def strip_wrapper_prefixes(weights: dict[str, torch.Tensor], expected: set[str]) -> dict[str, torch.Tensor]:
    """Weights saved from a wrapped model (DDP, torch.compile) under the plain model's names.

    A prefix is removed only when every saved key has it and the model's own
    names do not (a model may have a submodule called ``module``).
    """
    stripped = True
    while stripped and weights:
        stripped = False
        for prefix in WRAPPER_PREFIXES:
            if all(k.startswith(prefix) for k in weights) and not any(k.startswith(prefix) for k in expected):
                weights = {k[len(prefix) :]: v for k, v in weights.items()}
                stripped = True
    return weights


def load_model_weights(model: torch.nn.Module, ckpt: Checkpoint) -> None:
    weights = strip_wrapper_prefixes(ckpt.group("model"), set(model.state_dict()))
    try:
        model.load_state_dict(weights, strict=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        raise CheckpointError(f"{ckpt.path}: weights do not fit the model its config describes ({first})") from None


def restore_optimizers(optimizers: dict[str, torch.optim.Optimizer], ckpt: Checkpoint) -> None:
    meta = ckpt.meta.get("optimizers", {})
    for name, opt in optimizers.items():
        if name not in meta:
            raise CheckpointError(f"{ckpt.path} has no state for optimizer '{name}' (it was saved for inference only)")
        optimizer_from_flat(opt, ckpt.group(f"optim/{name}"), meta[name])


def progress_of(ckpt: Checkpoint) -> Progress:
    return Progress(**ckpt.meta.get("progress", {}))
