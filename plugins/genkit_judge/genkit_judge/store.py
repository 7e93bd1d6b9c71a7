"""Judges on disk: one safetensors file per dataset in genkit's user cache."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import torch

import genkit

from .network import ARCHITECTURE, JudgeNet

# Kept under its old name: the identity of a dataset spec now lives in genkit.
dataset_identity = genkit.dataset_identity

_META_KEY = "genkit_judge"  # the header key of a judge file's metadata


class JudgeMissing(genkit.GenkitError):
    """No trained judge for a dataset."""


def judge_path(dataset: str) -> Path:
    """Where the judge of ``dataset`` is kept: ``judges/NAME.safetensors`` for a plain name,
    ``judges/NAME-DIGEST.safetensors`` for a dataset with an argument (the digest of its
    :func:`dataset_identity`)."""
    identity = dataset_identity(dataset)
    name = dataset.partition(":")[0]
    stem = name if identity == name else f"{name}-{hashlib.sha256(identity.encode()).hexdigest()[:16]}"
    return genkit.cache_dir() / "judges" / f"{stem}.safetensors"


def has_judge(dataset: str) -> bool:
    return judge_path(dataset).is_file()


def save_judge(net: JudgeNet, dataset: str, info: dict[str, Any]) -> Path:
    meta = {
        "architecture": ARCHITECTURE,
        "dataset": dataset,
        "identity": dataset_identity(dataset),
        "shape": list(net.shape),
        "num_classes": net.num_classes,
        **info,
    }
    return genkit.save_artifact(judge_path(dataset), net.state_dict(), meta, name=_META_KEY)


def judge_info(dataset: str) -> dict[str, Any]:
    """The metadata saved with a judge (test accuracy, training settings)."""
    return _read(dataset)[1]


_loaded: dict[tuple[str, str, float], JudgeNet] = {}


def load_judge(
    dataset: str,
    device: torch.device | str = "cpu",
    shape: tuple[int, ...] | None = None,
    num_classes: int | None = None,
) -> JudgeNet:
    """The judge of ``dataset`` in eval mode on ``device`` (cached while the file is unchanged).

    ``shape`` (of one image) and ``num_classes``, when given, must be what the judge was
    trained on; a judge that does not fit is refused with one line.
    """
    path = judge_path(dataset)
    if not path.is_file():
        raise JudgeMissing(f"no judge for dataset '{dataset}'; train one with: genkit judge train --dataset {dataset}")
    key = (str(path), str(device), path.stat().st_mtime)
    if key not in _loaded:
        tensors, meta = _read(dataset)
        net = JudgeNet(tuple(meta["shape"]), meta["num_classes"])
        try:
            net.load_state_dict(tensors)
        except RuntimeError:
            raise JudgeMissing(
                f"{path}: its weights do not fit a judge of {meta['shape']} images and {meta['num_classes']} "
                "classes; retrain it"
            ) from None
        _loaded[key] = net.to(device).eval()
    net = _loaded[key]
    if shape is not None and tuple(shape) != tuple(net.shape):
        raise JudgeMissing(
            f"the judge of '{dataset}' was trained on images of shape {list(net.shape)}, these are "
            f"{list(shape)}; retrain it with: genkit judge train --dataset {dataset}"
        )
    if num_classes is not None and num_classes != net.num_classes:
        raise JudgeMissing(
            f"the judge of '{dataset}' knows {net.num_classes} classes, the data have {num_classes}; retrain "
            f"it with: genkit judge train --dataset {dataset}"
        )
    return net


def _read(dataset: str) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    path = judge_path(dataset)
    if not path.is_file():
        raise JudgeMissing(f"no judge at {path}")
    try:
        tensors, meta = genkit.load_artifact(path, name=_META_KEY)
    except genkit.ArtifactError as exc:  # corrupt, truncated, or not a judge file
        raise JudgeMissing(f"{exc}; retrain it with: genkit judge train --dataset {dataset}") from None
    if not isinstance(meta, dict) or meta.get("architecture") != ARCHITECTURE:
        found = meta.get("architecture") if isinstance(meta, dict) else None
        raise JudgeMissing(f"{path} was trained for {found}, this genkit-judge needs {ARCHITECTURE}; retrain it")
    shape, classes = meta.get("shape"), meta.get("num_classes")
    if not (isinstance(shape, list) and len(shape) == 3 and all(isinstance(v, int) and v > 0 for v in shape)) or not (
        isinstance(classes, int) and classes > 1
    ):
        raise JudgeMissing(
            f"{path}: its metadata has no valid image shape and class count; retrain it with: genkit judge "
            f"train --dataset {dataset}"
        )
    if meta.get("identity", dataset_identity(dataset)) != dataset_identity(dataset):
        raise JudgeMissing(
            f"{path} was trained on another dataset ({meta.get('dataset')}); retrain it with: genkit judge "
            f"train --dataset {dataset}"
        )
    return tensors, meta
