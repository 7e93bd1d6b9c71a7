"""Configuration: the core's training settings and each model's own.

A config file is TOML with a ``[model]`` table (the model's ``name`` and the
plugin's own settings) and a ``[train]`` table for :class:`TrainConfig`::

    [model]
    name = "vae"
    latent_dim = 20

    [train]
    epochs = 40

Values are layered: TrainConfig defaults, then the model's ``train_defaults``,
then the file, then ``--set`` values, then flags. Unknown keys (listed with the
valid ones) and wrong types are :class:`ConfigError` naming the field. Types are
strict where TOML and ``--set`` give them: a string is never read as a number, nor
a boolean as an integer (pydantic's lax mode would). A ``--set`` value is checked
even when a flag sets the same key; the flag wins and a note says so.
"""

from __future__ import annotations

import re
import sys
import types
import typing
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import ConfigError, GenkitNote

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
    limit: int | None = Field(
        None,
        gt=0,
        description=(
            "train on at most this many images: the first N (in file order) of those left after the validation "
            "hold-out, which stays the same for any limit"
        ),
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
    checkpoint_every: int | str | None = Field(
        None,
        description=(
            'also save checkpoints/last.safetensors every N steps (an integer) or every so many minutes ("10min"), '
            "mid-epoch included, so a killed run loses at most that much; besides every epoch's end"
        ),
    )
    log: list[str] = Field(
        default_factory=list,
        description=(
            'loggers called during training besides metrics.jsonl and the PNGs, e.g. ["tensorboard"] (see `genkit '
            "plugins`)"
        ),
    )

    @field_validator("checkpoint_every", mode="before")
    @classmethod
    def _checkpoint_every(cls, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise ValueError('give a number of steps (500) or of minutes ("10min")')
        _interval(value)
        return value

    def checkpoint_interval(self) -> tuple[str, float]:
        """``("steps", N)``, ``("minutes", M)`` or ``("never", 0)``: when to save besides epoch ends."""
        return ("never", 0.0) if self.checkpoint_every is None else _interval(self.checkpoint_every)


def _interval(value: int | str) -> tuple[str, float]:
    if isinstance(value, int):
        if value < 1:
            raise ValueError("a number of steps must be at least 1")
        return "steps", float(value)
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(min|m|minutes?|steps?)\s*", value)
    if not match or float(match.group(1)) <= 0:
        raise ValueError('give a number of steps (500, or "500 steps") or of minutes ("10min", "0.5 min")')
    number, unit = float(match.group(1)), match.group(2)
    if unit.startswith("step"):
        if number != int(number):
            raise ValueError("a number of steps must be whole")
        return "steps", number
    return "minutes", number


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
        section, field_name = key.split(".", 1)
        (train if section == "train" else model)[field_name] = value
    return name, train, model


@dataclass
class Layers:
    """What the config file, ``--set`` and the flags ask for, merged in that order."""

    name: str | None
    train: dict[str, Any]
    model: dict[str, Any]
    #: Values given twice on one command line, and which one was kept.
    notes: list[str] = field(default_factory=list)


def merge_layers(file_data: dict[str, Any], sets: list[str] | None, flags: dict[str, Any] | None) -> Layers:
    """The file, then ``--set key=value`` strings, then flags (dotted keys; None means not given).

    Every ``--set`` value is checked for its type (:func:`check_types`) even when a flag
    replaces it, and each replacement, like a key given twice with ``--set``, is a note
    (a :class:`GenkitNote` warning) naming the value kept.
    """
    notes: list[str] = []
    given_sets: dict[str, Any] = {}
    for text in sets or []:
        key, value = parse_override(text)
        if key in given_sets and given_sets[key] != value:
            notes.append(f"--set {key} is given twice; using the last value, {_shown(value)}")
        given_sets[key] = value
    name, train, model = layered(file_data, given_sets)
    validate(TrainConfig, train, "train")  # before a flag replaces a value: each one given is checked
    for key, value in (flags or {}).items():
        if value is None:
            continue
        section, name_in_section = key.split(".", 1)
        if key in given_sets and given_sets[key] != value:
            flag = "--" + name_in_section.replace("_", "-")
            notes.append(f"{flag} {_shown(value)} replaces --set {key}={_shown(given_sets[key])}")
        (train if section == "train" else model)[name_in_section] = value
    for note in notes:
        warnings.warn(note, GenkitNote, stacklevel=2)
    return Layers(name, train, model, notes)


def _shown(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _toml_type(value: Any) -> str:
    return {str: "a string", bool: "a boolean", int: "an integer", float: "a float", list: "an array"}.get(
        type(value), type(value).__name__
    )


def validate(
    cls: type[BaseModel],
    values: dict[str, Any],
    section: str,
    defaults: dict[str, Any] | None = None,
    *,
    saved: bool = False,
) -> BaseModel:
    """Build ``cls`` from values, turning pydantic's report into one line naming the field.

    ``values`` (what a user wrote) are checked strictly (:func:`check_types`) and for
    unknown keys, even where ``cls`` ignores extra keys; ``defaults`` (a plugin's) are not,
    nor are ``saved`` values (a config genkit wrote into a checkpoint, which a plugin's
    later config may read differently but still accepts).
    """
    if not saved:
        check_keys(cls, values, section)
        check_types(cls, values, section)
    merged = {**(defaults or {}), **values}
    try:
        return cls(**merged)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, section, cls)) from None


def check_keys(cls: type[BaseModel], values: dict[str, Any], section: str) -> None:
    """Refuse a key ``cls`` has no field for, listing the valid keys (unless ``cls`` allows extra keys)."""
    if cls.model_config.get("extra") == "allow":
        return
    known = _field_names(cls)
    for key in values:
        if key not in known:
            raise ConfigError(f"config error: {section}.{key}: unknown key (valid keys: {', '.join(sorted(known))})")


def _field_names(cls: type[BaseModel]) -> set[str]:
    names = set()
    for name, info in cls.model_fields.items():
        names.add(name)
        if isinstance(info.alias, str):
            names.add(info.alias)
    return names


def check_types(cls: type[BaseModel], values: dict[str, Any], section: str) -> None:
    """Refuse a value pydantic would silently convert: a string where a number or a boolean is
    wanted, a boolean where a number is, a number where a boolean is, a float where an integer is."""
    fields = cls.model_fields
    for key, value in values.items():
        info = fields.get(key) or next((f for f in fields.values() if f.alias == key), None)
        if info is None:
            continue
        problem = _coercion(info.annotation, value)
        if problem:
            raise ConfigError(f"config error: {section}.{key}: {problem}")


_NUMBER_WORDS = {int: "an integer", float: "a number", bool: "true or false"}


def _coercion(annotation: Any, value: Any) -> str | None:
    """Why ``value`` would only fit ``annotation`` by a conversion, or None."""
    kinds = _kinds(annotation)
    if kinds is None:  # a type we do not judge (a model, a path, an enum...): pydantic decides
        return None
    if isinstance(value, (list, tuple)) and "items" in kinds:
        for item in value:
            problem = _coercion(kinds["items"], item)
            if problem:
                return f"{problem} (in the list)"
        return None
    wanted = [k for k in (bool, int, float) if k in kinds]
    if not wanted or str in kinds or "other" in kinds:
        return None
    expected = " or ".join(_NUMBER_WORDS[k] for k in wanted)
    if isinstance(value, str):
        return f"expected {expected}, got a string ({value!r}); write the value without quotes"
    if isinstance(value, bool):
        return None if bool in kinds else f"expected {expected}, got a boolean ({_shown(value)})"
    if isinstance(value, int):
        return None if (int in kinds or float in kinds) else f"expected {expected}, got {value!r}"
    if isinstance(value, float):
        return None if float in kinds else f"expected {expected}, got {value!r}"
    return None


def _kinds(annotation: Any) -> dict[Any, Any] | None:
    """The plain kinds an annotation accepts: bool, int, float, str, "items" (a list or tuple's
    item annotation), "other"; None when it is not made of these."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _kinds(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        kinds: dict[Any, Any] = {}
        for arg in typing.get_args(annotation):
            if arg is type(None):
                continue
            sub = _kinds(arg)
            if sub is None:
                return None
            kinds.update(sub)
        return kinds
    if origin is Literal:
        return {type(v) if type(v) in (bool, int, float, str) else "other": True for v in typing.get_args(annotation)}
    if origin in (list, tuple):
        args = [a for a in typing.get_args(annotation) if a is not Ellipsis]
        item = args[0] if len(set(args)) == 1 else Any
        return {"items": item}
    if annotation in (bool, int, float, str):
        return {annotation: True}
    if annotation is Any:
        return {"other": True}
    return None


def format_validation_error(exc: ValidationError, section: str, cls: type[BaseModel] | None = None) -> str:
    err = exc.errors()[0]
    field_name = ".".join(str(p) for p in (section, *err.get("loc", ())))
    if err.get("type") == "extra_forbidden":
        valid = f" (valid keys: {', '.join(sorted(_field_names(cls)))})" if cls is not None else ""
        return f"config error: {field_name}: unknown key{valid}"
    given = err.get("input")
    shown = f" (got {given!r})" if not isinstance(given, dict) else ""
    more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
    return f"config error: {field_name}: {err.get('msg', 'invalid value')}{shown}{more}"
