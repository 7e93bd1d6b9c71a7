"""Assembling and restoring the full training state in a checkpoint, and the checks that a
checkpoint fits what opens it.

Every command that opens a checkpoint (sample, score, interpolate, info, report, resume)
goes through the same checks here, so each refuses the same things with the same words:
weights of the wrong shape or dtype or with non-finite values, a conditioning the model's
config no longer builds, data of another image shape, optimizer and RNG state that do not
fit (resume only).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from ..checkpoint import Checkpoint, optimizer_from_flat, optimizer_to_flat, save_checkpoint
from ..config import TrainConfig
from ..errors import CheckpointError
from .distributed import DistContext, restore_rank_rng
from .precision import restore_scalers


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
    check_rng_states(ckpt, device)
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
    """Put the checkpoint's weights into ``model``, after :func:`check_weights`."""
    weights = check_weights(model, ckpt)
    try:
        model.load_state_dict(weights, strict=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        raise CheckpointError(f"{ckpt.path}: weights do not fit the model its config describes ({first})") from None


def check_weights(model: torch.nn.Module, ckpt: Checkpoint) -> dict[str, torch.Tensor]:
    """The checkpoint's weights under the model's names, refused in one line when a tensor is
    missing or extra, of another shape or dtype than the model's (an int8 copy of float weights),
    or not finite (a NaN or infinite parameter, or a NaN buffer: an infinite buffer may be meant)."""
    expected = model.state_dict()
    weights = strip_wrapper_prefixes(ckpt.group("model"), set(expected))
    missing = sorted(set(expected) - set(weights))
    extra = sorted(set(weights) - set(expected))
    if missing or extra:
        what = f"lacks {missing[0]}" if missing else f"has {extra[0]}, which the model does not"
        more = len(missing) + len(extra) - 1
        raise CheckpointError(
            f"{ckpt.path}: weights do not fit the model its config describes (the checkpoint {what}"
            + (f", and {more} more differences" if more else "")
            + ")"
        )
    parameters = {name for name, _ in model.named_parameters()}
    for key, value in weights.items():
        want = expected[key]
        if tuple(value.shape) != tuple(want.shape):
            raise CheckpointError(
                f"{ckpt.path}: weight {key} has shape {list(value.shape)}, the model's is {list(want.shape)}"
            )
        if value.dtype != want.dtype:
            raise CheckpointError(
                f"{ckpt.path}: weight {key} is stored as {value.dtype}, the model keeps it as {want.dtype}"
            )
        if value.is_floating_point() or value.is_complex():
            bad = torch.isnan(value) if key not in parameters else ~torch.isfinite(value)
            if bool(bad.any()):
                raise CheckpointError(
                    f"{ckpt.path}: weight {key} holds {int(bad.sum())} NaN or infinite value(s); these weights cannot "
                    "be used (take an earlier checkpoint)"
                )
    return weights


def check_conditioning(meta: dict[str, Any], model: torch.nn.Module, path) -> None:
    """Refuse a model whose config now builds another conditioning than the checkpoint was trained with."""
    saved = meta.get("conditioning", getattr(model, "conditioning", None))
    if saved != getattr(model, "conditioning", None):
        raise CheckpointError(
            f"{path} was saved by a model conditioned on {saved!r}, but its config now builds one conditioned on "
            f"{model.conditioning!r}"
        )


def check_data_shape(meta: dict[str, Any], shape, dataset: str, path) -> None:
    """Refuse images of another shape than the checkpoint's model was trained on."""
    trained = list(meta["data"]["shape"])
    if list(shape) != trained:
        raise CheckpointError(
            f"{path} was trained on images of shape {trained}; {dataset} has images of shape {list(shape)}"
        )


def restore_optimizers(optimizers: dict[str, torch.optim.Optimizer], ckpt: Checkpoint) -> None:
    meta = ckpt.meta.get("optimizers", {})
    for name, opt in optimizers.items():
        if name not in meta:
            raise CheckpointError(f"{ckpt.path} has no state for optimizer '{name}' (it was saved for inference only)")
        check_optimizer_state(opt, name, ckpt.group(f"optim/{name}"), meta[name], ckpt.path)
        try:
            optimizer_from_flat(opt, ckpt.group(f"optim/{name}"), meta[name])
        except CheckpointError as exc:
            raise CheckpointError(f"{ckpt.path}: {exc}") from None


def check_optimizer_state(
    opt: torch.optim.Optimizer, name: str, tensors: dict[str, torch.Tensor], meta: dict[str, Any], path
) -> None:
    """Refuse optimizer state that would fail or mislead only once training runs: state for a
    parameter the optimizer does not have, a per-parameter tensor of another shape than its
    parameter (torch's own optimizers), non-float or non-finite moments."""
    saved_ids = [pid for group in meta.get("param_groups", []) for pid in group.get("params", [])]
    params = [p for group in opt.param_groups for p in group["params"]]
    if len(saved_ids) != len(params):
        raise CheckpointError(
            f"{path}: optimizer '{name}' state covers {len(saved_ids)} parameters, the model's optimizer has "
            f"{len(params)}"
        )
    by_id = dict(zip(saved_ids, params))
    builtin = type(opt).__module__.startswith("torch.optim")
    for key, value in tensors.items():
        pid, _, field = key.partition("/")
        param = by_id.get(int(pid)) if pid.isdigit() else None
        if param is None:
            raise CheckpointError(f"{path}: optimizer '{name}' has state for parameter {pid}, which it does not have")
        if builtin and value.dim() > 0 and tuple(value.shape) != tuple(param.shape):
            raise CheckpointError(
                f"{path}: optimizer '{name}' state {key} has shape {list(value.shape)}, its parameter "
                f"{list(param.shape)}"
            )
        if value.dim() > 0 and not (value.is_floating_point() and bool(torch.isfinite(value).all())):
            problem = f"is stored as {value.dtype}" if not value.is_floating_point() else "holds NaN or infinite values"
            raise CheckpointError(f"{path}: optimizer '{name}' state {key} {problem}")


def check_rng_states(ckpt: Checkpoint, device: torch.device) -> None:
    """Refuse an RNG state torch would not take (or would take and misread): the wrong size or type."""
    sizes = {"cpu": torch.get_rng_state().numel()}
    if device.type == "cuda":
        sizes["cuda"] = torch.cuda.get_rng_state(device).numel()
    for key, value in ckpt.tensors.items():
        if not key.startswith("state/rng/"):
            continue
        kind = key.rsplit("/", 1)[-1]
        if kind in sizes and (value.dtype != torch.uint8 or value.numel() != sizes[kind] or value.dim() != 1):
            raise CheckpointError(
                f"{ckpt.path}: RNG state {key} is a {value.dtype} tensor of shape {list(value.shape)}, not the "
                f"{sizes[kind]} bytes of a torch {kind} generator"
            )


def check_epoch_sums(ckpt: Checkpoint, terms: int) -> torch.Tensor | None:
    """The partial epoch sums of a checkpoint written mid-epoch (None at an epoch's end), checked."""
    sums = ckpt.tensors.get("state/epoch_sums")
    if sums is None:
        return None
    if sums.dim() != 1 or sums.numel() != terms or not sums.is_floating_point() or not bool(torch.isfinite(sums).all()):
        raise CheckpointError(
            f"{ckpt.path}: state/epoch_sums ({sums.dtype}, shape {list(sums.shape)}) are not the {terms} finite sums "
            "of the logged terms"
        )
    return sums


def check_resumable(
    ckpt: Checkpoint,
    model: torch.nn.Module,
    cfg: Any,
    images: int,
    shape,
    dataset: str,
    device: torch.device,
    world_size: int,
) -> None:
    """Everything a resumed run restores, checked before anything is written: the data's image
    shape, the weights, the conditioning, every optimizer's state (against a fresh set of the
    model's optimizers), the RNG states, the partial epoch sums and where in an epoch of
    ``images`` training images it stopped."""
    from .checks import steps_per_epoch

    check_data_shape(ckpt.meta, shape, dataset, ckpt.path)
    check_conditioning(ckpt.meta, model, ckpt.path)
    check_weights(model, ckpt)
    saved = ckpt.meta.get("optimizers", {})
    for name, opt in model.configure_optimizers(cfg.lr).items():
        if name not in saved:
            raise CheckpointError(f"{ckpt.path} has no state for optimizer '{name}' (it was saved for inference only)")
        check_optimizer_state(opt, name, ckpt.group(f"optim/{name}"), saved[name], ckpt.path)
    check_rng_states(ckpt, device)
    check_epoch_sums(ckpt, len(ckpt.meta.get("term_names") or []))
    progress = progress_of(ckpt)
    steps = steps_per_epoch(images, cfg.batch_size, world_size)
    if progress.step >= steps:
        raise CheckpointError(
            f"{ckpt.path} stopped at step {progress.step} of epoch {progress.epoch + 1}, but an epoch of {dataset} has "
            f"{steps} steps: it was not trained on these images"
        )


def progress_of(ckpt: Checkpoint) -> Progress:
    return Progress(**ckpt.meta.get("progress", {}))


def restore_training_state(
    ckpt: Checkpoint,
    model: torch.nn.Module,
    optimizers: dict[str, torch.optim.Optimizer],
    scalers: dict[str, Any],
    cfg: TrainConfig,
    device: torch.device,
    dist: DistContext,
) -> Progress:
    """Put a resumed run's weights, optimizer and scaler states and RNG streams back; returns where it stood."""
    load_model_weights(model, ckpt)
    fresh = {name: [g["lr"] for g in opt.param_groups] for name, opt in optimizers.items()}
    restore_optimizers(optimizers, ckpt)
    if cfg.lr != (ckpt.meta.get("train_config") or {}).get("lr", cfg.lr):
        # A new --lr on resume: the restored param_groups carry the old rates; set each
        # group to what the model's configure_optimizers gives for the new one.
        for name, opt in optimizers.items():
            for group, lr in zip(opt.param_groups, fresh[name]):
                group["lr"] = lr
    restore_scalers(scalers, ckpt.meta.get("grad_scalers"))
    progress = progress_of(ckpt)
    restore_rng(ckpt, device)
    if dist.enabled and not dist.is_main:
        restore_rank_rng(ckpt, dist, device, cfg.seed, progress.global_step)
    return progress
