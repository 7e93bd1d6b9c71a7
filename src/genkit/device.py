"""Choosing the device to run on."""

from __future__ import annotations

import torch

from .errors import DeviceError

#: Why genkit does not run on Apple's MPS backend: repeatable scores, resumable checkpoints and
#: the judge's and the flow's float64 arithmetic are built on what CPU and CUDA provide.
MPS_REFUSAL = (
    "device 'mps' is not supported: genkit's seeded RNG streams and checkpoints' RNG state cover CPU and CUDA only, "
    "and its metrics and flows use float64, which MPS lacks; use --device cpu"
)


def resolve_device(spec: str = "auto") -> torch.device:
    """``auto`` picks CUDA, else the CPU (never MPS, see :data:`MPS_REFUSAL`); other values must be available."""
    spec = (spec or "auto").strip().lower()
    if spec == "auto":
        return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")
    try:
        device = torch.device(spec)
    except RuntimeError:
        raise DeviceError(f"unknown device '{spec}' (use auto, cpu, cuda or cuda:N)") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(f"device '{spec}' requested but CUDA is not available on this machine")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise DeviceError(f"device '{spec}' requested but only {torch.cuda.device_count()} CUDA device(s) exist")
    elif device.type == "mps":
        raise DeviceError(MPS_REFUSAL)
    elif device.type != "cpu":
        raise DeviceError(f"unsupported device '{spec}' (use auto, cpu, cuda or cuda:N)")
    return device


def describe_device(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return str(device)
