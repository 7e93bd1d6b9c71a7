"""Speed options of a training step: mixed precision and ``torch.compile``.

On CUDA, ``auto`` picks bf16 autocast on GPUs that compute in bf16 (Ampere
and later) and fp16 autocast with a gradient scaler on older ones, where bf16
would only be emulated. On the CPU,
``auto`` stays fp32: bf16 autocast pays only on CPUs with bf16 instructions
(AVX512-BF16 or AMX), where the diffusion U-Net trains 1.46x faster on a
2-core EPYC (benchmarks/diffusion_speed.py), so it is asked for with ``bf16``.
fp16 off CUDA, and any mixed precision on MPS, is a configuration error, never
a silent fallback.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

import torch

from ..errors import ConfigError

PRECISIONS = ("fp32", "bf16", "fp16", "auto")


@dataclass(frozen=True)
class Precision:
    """The resolved choice: ``dtype`` None means no autocast (fp32)."""

    name: str
    device_type: str
    dtype: torch.dtype | None = None

    @property
    def needs_grad_scaler(self) -> bool:
        """fp16 gradients underflow without loss scaling; bf16 has fp32's exponent range."""
        return self.dtype == torch.float16

    def autocast(self):
        """Context for the forward pass and loss of one objective."""
        if self.dtype is None:
            return nullcontext()
        return torch.autocast(device_type=self.device_type, dtype=self.dtype)

    def grad_scaler(self) -> torch.amp.GradScaler | None:
        """A fresh gradient scaler (one per optimizer), or None when not needed."""
        if not self.needs_grad_scaler:
            return None
        return torch.amp.GradScaler(self.device_type)


def resolve_precision(
    requested: str, device: torch.device, bf16_supported: Callable[[], bool] | None = None
) -> Precision:
    """Turn the configured ``train.precision`` into what the step uses on ``device``.

    Args:
        requested: ``fp32``, ``bf16``, ``fp16`` or ``auto``.
        device: the training device.
        bf16_supported: whether the CUDA device has bf16 (default: :func:`cuda_has_native_bf16`).
    """
    requested = requested.strip().lower()
    if requested not in PRECISIONS:
        raise ConfigError(f"config error: train.precision: must be one of {', '.join(PRECISIONS)} (got {requested!r})")
    if requested == "fp32":
        return Precision("fp32", device.type)
    if device.type != "cuda":
        if requested == "auto":
            return Precision("fp32", device.type)  # documented: auto means fp32 off CUDA
        if requested == "bf16" and device.type == "cpu":
            return Precision("bf16", "cpu", torch.bfloat16)
        raise ConfigError(
            f"config error: train.precision: {requested} mixed precision needs a CUDA device (training on "
            f"{device.type}); use {'fp32, auto or bf16' if device.type == 'cpu' else 'fp32 or auto'}"
        )
    has_bf16 = bf16_supported() if bf16_supported is not None else cuda_has_native_bf16(device)
    if requested == "bf16" and not has_bf16:
        raise ConfigError(
            f"config error: train.precision: {device} has no bf16 arithmetic (it would be emulated, slower than fp16); "
            "use fp16 (with a gradient scaler) or auto"
        )
    if requested == "bf16" or (requested == "auto" and has_bf16):
        return Precision("bf16", "cuda", torch.bfloat16)
    return Precision("fp16", "cuda", torch.float16)


def cuda_has_native_bf16(device: torch.device) -> bool:
    """Whether the GPU ``device`` computes in bf16 itself: compute capability 8.0 (Ampere) and later,
    or any ROCm GPU.

    Not ``torch.cuda.is_bf16_supported()``: by default it also answers yes where bf16 is only
    emulated (Volta, Turing), where bf16 autocast is slower than fp16, and it asks about the
    current device, not the training one.
    """
    if torch.version.hip:
        return True
    return torch.cuda.get_device_capability(device)[0] >= 8


@contextmanager
def tf32_enabled(device: torch.device, enabled: bool) -> Iterator[None]:
    """Let fp32 matrix products and convolutions use TF32 tensor cores (CUDA, Ampere and later)
    inside the block; the flags are process-wide, so they are restored after it."""
    if device.type != "cuda":
        yield
        return
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = enabled
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def compiled(objective: Callable[..., Any], enabled: bool) -> Callable[..., Any]:
    """The objective through ``torch.compile`` when enabled (the backward pass is compiled with it).

    The epoch's last, smaller batch triggers one recompilation with dynamic
    shapes; after that no step recompiles.
    """
    if not enabled:
        return objective
    return torch.compile(objective)


def backward_twice(enabled: bool):
    """Context for training steps whose compiled objectives may be back-propagated twice.

    A carry with a graph (a GAN's fake batch) shares its compiled objective's
    autograd node with the loss, so the loss's backward keeps the node
    (``retain_graph``) for the next update's backward through the carry.
    torch's donated buffers, which free saved tensors during a compiled
    backward, forbid that; they are turned off while such steps compile and run.
    """
    if not enabled:
        return nullcontext()
    from torch._functorch import config as functorch_config

    if not hasattr(functorch_config, "donated_buffer"):  # older torch: nothing is donated
        return nullcontext()
    return functorch_config.patch(donated_buffer=False)


def scaler_states(scalers: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Gradient scalers' state as JSON-friendly dicts, for checkpoint metadata."""
    return {name: s.state_dict() for name, s in scalers.items() if s is not None}


def restore_scalers(scalers: dict[str, Any], states: dict[str, dict[str, Any]] | None) -> None:
    for name, state in (states or {}).items():
        if scalers.get(name) is not None:
            scalers[name].load_state_dict(state)
