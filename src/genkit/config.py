"""Configuration: the core's training settings and each model's own.

A config file is TOML with a ``[model]`` table (the model's ``name`` and the
plugin's own settings) and a ``[train]`` table for :class:`TrainConfig`::

    [model]
    name = "vae"
    latent_dim = 20

    [train]
    epochs = 40

Values are layered: TrainConfig defaults, then the model's ``train_defaults``,
then the file, then command-line overrides. Unknown keys and wrong types are
:class:`ConfigError` naming the field.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


class TrainConfig(BaseModel):
    """Settings of the training loop shared by every model."""

    model_config = ConfigDict(extra="forbid")

    dataset: str = Field("mnist", description="dataset name (see `genkit plugins`), e.g. mnist, fashion-mnist")
    data_dir: str | None = Field(
        None, description="where the dataset files are; default GENKIT_DATA_DIR, then the user cache"
    )
    epochs: int = Field(40, gt=0, description="passes over the training split")
    batch_size: int = Field(128, gt=0, description="examples per optimizer step")
    lr: float = Field(1e-3, gt=0, description="learning rate of every optimizer")
    val_size: int = Field(
        10_000, ge=0, description="training images held out for validation (capped at a sixth of the set)"
    )
    seed: int = Field(0, description="seed of all randomness in the run")
    device: str = Field(
        "auto", description="auto (CUDA if present, else CPU), cpu, cuda or cuda:N (MPS is not supported)"
    )
    grid_samples: int = Field(64, gt=0, le=400, description="samples in each grid saved during training")
    divergence_threshold: float = Field(1e8, gt=0, description="a logged loss term above this (or NaN) stops training")
    check_every: int = Field(
        100, gt=0, description="steps between checks for a diverged loss (each check waits for the device)"
    )
    precision: Literal["fp32", "bf16", "fp16", "auto"] = Field(
        "fp32",
        description=(
            "fp32, or mixed precision: bf16 autocast (CUDA, or a CPU with bf16 instructions), fp16 autocast with "
            "a gradient scaler (CUDA only), or auto (bf16 where the GPU has it, else fp16; fp32 off CUDA)"
        ),
    )
    compile: bool = Field(
        False,
        description=(
            "run each objective (forward and backward) through torch.compile; the first epoch pays the compilation"
        ),
    )
    tf32: bool = Field(
        False,
        description=(
            "let fp32 matrix products use TF32 tensor cores on CUDA GPUs that have them (opt-in: faster, less "
            "exact; no effect elsewhere; the global flags are restored after training)"
        ),
    )
    log: list[str] = Field(
        default_factory=list,
        description=(
            'loggers called during training besides metrics.jsonl and the PNGs, e.g. ["tensorboard"] (see `genkit '
            "plugins`)"
        ),
    )


def read_toml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a text file (not valid UTF-8)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def parse_override(text: str) -> tuple[str, Any]:
    """``train.epochs=3`` or ``model.latent_dim=2`` to a dotted key and a TOML-typed value."""
    if "=" not in text:
        raise ConfigError(f"override '{text}' must look like section.key=value")
    key, raw = (s.strip() for s in text.split("=", 1))
    if "." not in key or key.split(".", 1)[0] not in ("train", "model"):
        raise ConfigError(f"override '{text}': key must start with train. or model.")
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw  # a bare word is a string
    return key, value


def layered(file_data: dict[str, Any], overrides: dict[str, Any]) -> tuple[str | None, dict[str, Any], dict[str, Any]]:
    """Split parsed file data into (model name, train values, model values), with
    dotted-key overrides (``train.epochs``, ``model.latent_dim``) applied on top."""
    unknown = set(file_data) - {"model", "train"}
    if unknown:
        raise ConfigError(f"config: unknown top-level table '{sorted(unknown)[0]}' (allowed: [model], [train])")
    for table in ("model", "train"):
        if not isinstance(file_data.get(table, {}), dict):
            raise ConfigError(f"config: [{table}] must be a table of settings, not {_toml_type(file_data[table])}")
    train = dict(file_data.get("train", {}))
    model = dict(file_data.get("model", {}))
    name = model.pop("name", None)
    if name is not None and not isinstance(name, str):
        raise ConfigError(f"config: model.name must be a string (got {name!r})")
    for key, value in overrides.items():
        if value is None:
            continue
        section, field = key.split(".", 1)
        (train if section == "train" else model)[field] = value
    return name, train, model


def _toml_type(value: Any) -> str:
    return {str: "a string", bool: "a boolean", int: "an integer", float: "a float", list: "an array"}.get(
        type(value), type(value).__name__
    )


def validate(
    cls: type[BaseModel], values: dict[str, Any], section: str, defaults: dict[str, Any] | None = None
) -> BaseModel:
    """Build ``cls`` from values, turning pydantic's report into one line naming the field."""
    merged = {**(defaults or {}), **values}
    try:
        return cls(**merged)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, section)) from None


def format_validation_error(exc: ValidationError, section: str) -> str:
    err = exc.errors()[0]
    field = ".".join(str(p) for p in (section, *err.get("loc", ())))
    if err.get("type") == "extra_forbidden":
        return f"config error: {field}: unknown key"
    given = err.get("input")
    shown = f" (got {given!r})" if not isinstance(given, dict) else ""
    more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
    return f"config error: {field}: {err.get('msg', 'invalid value')}{shown}{more}"
