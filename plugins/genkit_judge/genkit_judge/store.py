"""Judges on disk: one safetensors file per dataset in genkit's user cache."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

import genkit

from .network import ARCHITECTURE, JudgeNet


_META_KEY = "genkit_judge"  # the header key of a judge file's metadata


class JudgeMissing(genkit.GenkitError):
    """No trained judge for a dataset."""


def judge_path(dataset: str) -> Path:
    """Where the judge of ``dataset`` (its base name: ``tiny:100`` -> ``tiny``) is kept."""
    return genkit.cache_dir() / "judges" / f"{dataset.partition(':')[0]}.safetensors"


def has_judge(dataset: str) -> bool:
    return judge_path(dataset).is_file()


def save_judge(net: JudgeNet, dataset: str, info: dict[str, Any]) -> Path:
    meta = {"architecture": ARCHITECTURE, "dataset": dataset, "shape": list(net.shape), "num_classes": net.num_classes, **info}
    return genkit.save_artifact(judge_path(dataset), net.state_dict(), meta, name=_META_KEY)


def judge_info(dataset: str) -> dict[str, Any]:
    """The metadata saved with a judge (test accuracy, training settings)."""
    return _read(dataset)[1]


_loaded: dict[tuple[str, str, float], JudgeNet] = {}


def load_judge(dataset: str, device: torch.device | str = "cpu") -> JudgeNet:
    """The judge of ``dataset`` in eval mode on ``device`` (cached while the file is unchanged)."""
    path = judge_path(dataset)
    if not path.is_file():
        base = dataset.partition(":")[0]
        raise JudgeMissing(f"no judge for dataset '{base}'; train one with: genkit judge train --dataset {base}")
    key = (str(path), str(device), path.stat().st_mtime)
    if key not in _loaded:
        tensors, meta = _read(dataset)
        net = JudgeNet(tuple(meta["shape"]), meta["num_classes"])
        net.load_state_dict(tensors)
        _loaded[key] = net.to(device).eval()
    return _loaded[key]


def _read(dataset: str) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    path = judge_path(dataset)
    if not path.is_file():
        raise JudgeMissing(f"no judge at {path}")
    try:
        tensors, meta = genkit.load_artifact(path, name=_META_KEY)
    except genkit.ArtifactError as exc:  # corrupt, truncated, or not a judge file
        raise JudgeMissing(f"{exc}; retrain it with: genkit judge train --dataset {dataset}") from None
    if meta.get("architecture") != ARCHITECTURE:
        raise JudgeMissing(f"{path} was trained for {meta.get('architecture')}, this genkit-judge needs {ARCHITECTURE}; retrain it")
    return tensors, meta
