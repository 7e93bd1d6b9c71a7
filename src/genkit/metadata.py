"""The schema of a training checkpoint's genkit metadata.

A checkpoint is untrusted input: its JSON header may come from another genkit,
another machine, or an editor. Every field the core reads is validated here
before use, so a well-formed file with the wrong shapes inside is one
:class:`CheckpointError` line, never an internal exception.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationError, field_validator

from .errors import CheckpointError

#: The checkpoint formats this genkit reads, and the one it writes.
FORMAT_NAME = "genkit-checkpoint"
FORMAT_VERSION = 1


class _Strict(BaseModel):
    model_config = ConfigDict(extra="allow", protected_namespaces=())


class DataMeta(_Strict):
    name: StrictStr
    shape: tuple[StrictInt, StrictInt, StrictInt]
    num_classes: StrictInt | None = None
    source: StrictStr | None = None
    embedded: StrictBool | None = None

    @field_validator("shape")
    @classmethod
    def _positive(cls, shape):
        if min(shape) <= 0:
            raise ValueError("every dimension must be positive")
        return shape

    @field_validator("num_classes")
    @classmethod
    def _classes(cls, n):
        if n is not None and n < 1:
            raise ValueError("must be positive")
        return n


class ProgressMeta(BaseModel):
    model_config = ConfigDict(extra="forbid")

    epoch: StrictInt = Field(0, ge=0)
    step: StrictInt = Field(0, ge=0)
    global_step: StrictInt = Field(0, ge=0)
    best: float | None = None


class OptimizerMeta(_Strict):
    param_groups: list[dict[str, Any]]
    scalars: dict[str, dict[str, Any]] = {}

    @field_validator("scalars")
    @classmethod
    def _param_ids(cls, scalars):
        for key in scalars:
            if not key.isdigit():
                raise ValueError(f"parameter id {key!r} is not a number")
        return scalars


class PluginMeta(_Strict):
    name: StrictStr | None = None
    package: StrictStr | None = None
    version: StrictStr | None = None


class CheckpointMeta(_Strict):
    """What the core reads from a training checkpoint's header (other keys are kept as they are)."""

    format: StrictStr
    model: StrictStr
    model_settings: dict[str, Any] = Field(alias="model_config")
    train_config: dict[str, Any]
    data: DataMeta
    conditioning: StrictStr | None = None
    progress: ProgressMeta = ProgressMeta()
    optimizers: dict[str, OptimizerMeta] = {}
    term_names: list[StrictStr] | None = None
    grad_scalers: dict[str, dict[str, Any]] | None = None
    world_size: StrictInt = Field(1, ge=1)
    epoch_count: StrictInt = Field(0, ge=0)
    interrupted: StrictBool = False
    plugin: PluginMeta | None = None
    versions: dict[str, StrictStr | None] | None = None


def format_version(meta: dict[str, Any], path: Path | str) -> int:
    """The format version of raw metadata, refusing one this genkit cannot read."""
    fmt = meta.get("format")
    name, _, version = str(fmt).partition("/")
    if not isinstance(fmt, str) or name != FORMAT_NAME or not version.isdigit():
        raise CheckpointError(f"{path}: unknown checkpoint format {fmt!r}")
    if int(version) > FORMAT_VERSION:
        versions = meta.get("versions")
        writer = versions.get("genkit") if isinstance(versions, dict) else None
        by = f" (written by genkit {writer})" if isinstance(writer, str) else ""
        raise CheckpointError(
            f"{path} is in checkpoint format {version}{by}; this genkit reads format {FORMAT_VERSION} and older: "
            "upgrade genkit to load it"
        )
    return int(version)


def validate_metadata(meta: Any, path: Path | str) -> dict[str, Any]:
    """Training-checkpoint metadata checked against :class:`CheckpointMeta`, with defaults filled in."""
    if not isinstance(meta, dict):
        raise CheckpointError(f"{path}: genkit metadata is not a JSON object")
    format_version(meta, path)
    try:
        checked = CheckpointMeta.model_validate(meta)
    except ValidationError as exc:
        raise CheckpointError(f"{path}: {_describe(exc)}") from None
    return checked.model_dump(by_alias=True)


def _describe(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err.get("loc", ()))
    if err.get("type") == "missing":
        return f"genkit metadata lacks '{where}'"
    given = err.get("input")
    shown = (
        f" (got {given!r})"[:120]
        if not isinstance(given, (dict, list))
        else f" (got a JSON {'object' if isinstance(given, dict) else 'array'})"
    )
    return f"genkit metadata field '{where}' is invalid: {err.get('msg', 'bad value')}{shown}"
