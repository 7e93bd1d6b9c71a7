"""``genkit.load``: a trained model back from a run directory, a checkpoint or a model name."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..checkpoint import load_checkpoint
from ..config import TrainConfig, validate
from ..device import resolve_device
from ..errors import CheckpointError, PluginError
from ..files import remove_stale_temps
from ..metadata import validate_metadata
from ..model import DataInfo, GenerativeModel
from ..plugins import get_plugin_manager
from ..rng import isolated_rng
from ..runs import Run, resolve_target
from ..training.state import check_conditioning, load_model_weights


@dataclass
class LoadedModel:
    """A model rebuilt from a checkpoint, in eval mode, with what it was trained with."""

    model: GenerativeModel
    name: str
    run: Run
    checkpoint: Path
    meta: dict[str, Any]
    train_config: TrainConfig
    device: torch.device

    @property
    def data_info(self) -> DataInfo:
        return self.model.data_info


def build_model(spec, config, info: DataInfo, error: type[Exception], where: str = "") -> GenerativeModel:
    """``spec.build_model(config, info)``, with a config the model cannot be built from (a layer too
    large to allocate, sizes that do not fit together) reported as one line of ``error``."""
    try:
        return spec.build_model(config, info)
    except (RuntimeError, ValueError, TypeError, OverflowError, MemoryError) as exc:
        first = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
        raise error(
            f"{where}model '{spec.name}' cannot be built from its config ({type(exc).__name__}: {first})"
        ) from None


def load(target: str | Path, device: str = "auto") -> LoadedModel:
    """Rebuild the model of a run directory, checkpoint file or model name (its latest run)."""
    run, path = resolve_target(target)
    remove_stale_temps(run.path)  # what a killed writer left; a write in progress is left alone
    ckpt = load_checkpoint(path)
    meta = ckpt.meta = validate_metadata(ckpt.meta, path)
    try:
        spec = get_plugin_manager().model(meta["model"])
    except PluginError as exc:
        package = (meta.get("plugin") or {}).get("package") or "its plugin"
        raise PluginError(f"{path} needs model '{meta['model']}' from {package}: {exc}") from None
    dev = resolve_device(device)
    info = DataInfo(
        name=meta["data"]["name"], shape=tuple(meta["data"]["shape"]), num_classes=meta["data"].get("num_classes")
    )
    config = validate(spec.config_class(), meta["model_config"], "model", saved=True)
    with isolated_rng("cpu", 0):  # the initial weights are overwritten: their draws must not move the caller's RNG
        model = build_model(spec, config, info, CheckpointError, f"{path}: ")
    check_conditioning(meta, model, path)
    load_model_weights(model, ckpt)
    model.to(dev).eval()
    train_cfg = validate(TrainConfig, meta["train_config"], "train", saved=True)
    return LoadedModel(
        model=model, name=spec.name, run=run, checkpoint=path, meta=meta, train_config=train_cfg, device=dev
    )
