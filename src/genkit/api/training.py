"""``genkit.train``: resolve the config, build the model, and run the training loop."""

from __future__ import annotations

import platform
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from ..checkpoint import load_checkpoint
from ..config import TrainConfig, check_keys, check_types, merge_layers, read_toml, validate
from ..data import load_dataset
from ..device import describe_device, resolve_device
from ..errors import ConfigError, DataError, GenkitNote, RunNotFoundError
from ..files import remove_stale_temps
from ..liveness import held_runs, lock_run, unlock_runs
from ..loggers import create_loggers
from ..metadata import validate_metadata
from ..plugins import get_plugin_manager
from ..runs import Run, resolve_target
from ..training import distributed
from ..training.checks import fit_to_data
from ..training.precision import resolve_precision
from ..training.reporting import Reporter, RichReporter
from ..training.state import check_resumable
from ..training.trainer import Trainer, TrainResult
from .loading import build_model


def resolve_config(
    model: str | None = None,
    config: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
    sets: list[str] | None = None,
):
    """The model spec, its validated config and the training config, from file, flags and ``--set`` values."""
    file_data = read_toml(config) if config else {}
    layers = merge_layers(file_data, sets, overrides)
    name, train_values, model_values = layers.name, layers.train, layers.model
    if model and name and model != name:
        raise ConfigError(f"config file is for model '{name}' but '{model}' was asked for")
    name = model or name
    if not name:
        raise ConfigError("no model given (name one, or set [model] name in the config file)")
    spec = get_plugin_manager().model(name)
    train_cfg = validate(TrainConfig, train_values, "train", defaults=spec.train_defaults)
    model_cfg = validate(spec.config_class(), model_values, "model")
    return spec, model_cfg, train_cfg


#: Training settings a resumed run may change: how it runs, not what it learns from.
#: Everything else (the model config, dataset, batch size, validation split, seed) is refused.
RESUMABLE = (
    "epochs",
    "lr",
    "device",
    "precision",
    "compile",
    "tf32",
    "check_every",
    "divergence_threshold",
    "grid_samples",
    "data_dir",
    "log",
    "checkpoint_every",
)


def resolve_resume(resume, model: str | None, config, overrides: dict[str, Any] | None, sets: list[str] | None, out):
    """What a resumed run continues with: the checkpoint's configs with the changes that are safe.

    Returns (spec, model config, train config, checkpoint, run, changes), where changes maps
    each changed training setting to [old, new]. A change that would alter the run's meaning is a
    :class:`ConfigError`, as is ``out`` (a resumed run continues in its own directory).
    """
    run, ckpt_path = resolve_target(resume)
    if out is not None and Path(out).resolve() != run.path.resolve():
        raise ConfigError(f"--out cannot be given with --resume: the run continues in {run.path}")
    if distributed.is_main_process():  # before the checkpoint is read: another writer may be about to replace it
        open_for_writing(run)
    ckpt = load_checkpoint(ckpt_path)
    ckpt.meta = validate_metadata(ckpt.meta, ckpt_path)
    spec = get_plugin_manager().model(ckpt.meta["model"])
    file_data = read_toml(config) if config else {}
    layers = merge_layers(file_data, sets, overrides)
    name, train_values, model_values = layers.name, layers.train, layers.model
    for asked in (model, name):
        if asked and asked != spec.name:
            raise ConfigError(f"{resume} is a run of '{spec.name}', not '{asked}'")
    saved_model = ckpt.meta["model_config"]
    model_cfg = validate(spec.config_class(), saved_model, "model", saved=True)
    check_keys(spec.config_class(), model_values, "model")
    check_types(spec.config_class(), model_values, "model")
    wanted = validate(spec.config_class(), {**saved_model, **model_values}, "model", saved=True)
    wanted = wanted.model_dump(mode="json")
    for key, new in wanted.items():
        if new != model_cfg.model_dump(mode="json").get(key):
            raise ConfigError(
                f"--resume cannot change model.{key} ({saved_model.get(key)!r} -> {new!r}): the checkpoint's weights "
                "are of the saved model; start a new run instead"
            )
    saved_train = validate(TrainConfig, ckpt.meta["train_config"], "train", saved=True).model_dump(mode="json")
    train_cfg = validate(TrainConfig, {**saved_train, **train_values}, "train", saved=True)  # checked by merge_layers
    changes = {
        k: [saved_train.get(k), v] for k, v in train_cfg.model_dump(mode="json").items() if saved_train.get(k) != v
    }
    for key, (old, new) in changes.items():
        if key not in RESUMABLE:
            raise ConfigError(
                f"--resume cannot change train.{key} ({old!r} -> {new!r}): it would change what the run means; "
                f"a resumed run may change only {', '.join(RESUMABLE)} (start a new run instead)"
            )
    done = ckpt.meta["progress"]["epoch"]
    if done >= train_cfg.epochs:
        said = (
            f"--epochs {train_cfg.epochs} is not more than the {done} epochs {run.path} has finished"
            if "epochs" in changes
            else f"{run.path} has finished all {done} of its epochs"
        )
        raise ConfigError(f"nothing to train: {said}; train further with --epochs N (N > {done})")
    return spec, model_cfg, train_cfg, ckpt, run, changes


def train(
    model: str | None = None,
    *,
    config: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
    sets: list[str] | None = None,
    resume: str | Path | None = None,
    out: str | Path | None = None,
    reporter: Reporter | None = None,
    on_step: Callable[[Trainer], None] | None = None,
) -> TrainResult:
    """Train a model and return its run.

    Args:
        model: registered model name (``"vae"``); may come from the config file instead.
        config: a TOML file with ``[model]`` and ``[train]`` tables.
        overrides: dotted keys to values on top of the file, e.g. ``{"train.epochs": 3}``.
        sets: the same as ``key=value`` strings (the CLI's ``--set``).
        resume: a run directory or checkpoint to continue. Only the settings in :data:`RESUMABLE`
            may change (``lr`` is re-applied to the restored optimizers); each change is recorded in
            the manifest's ``resumes``, and any other change is refused.
        out: the run directory (default ``runs/MODEL-TIMESTAMP``); not with ``resume``.
        reporter: progress display (default: rich progress bars).
        on_step: called after every training step with the trainer.

    Under ``torchrun`` every process calls this; they train one model together
    with DistributedDataParallel and rank 0 writes the run (see
    :mod:`genkit.training.distributed`).
    """
    reporter = reporter or RichReporter()
    ckpt, run, changes = None, None, {}
    held = held_runs()
    try:
        if resume is not None:
            spec, model_cfg, train_cfg, ckpt, run, changes = resolve_resume(resume, model, config, overrides, sets, out)
        else:
            spec, model_cfg, train_cfg = resolve_config(model, config, overrides, sets)

        dist, device = distributed.setup(train_cfg.device, resolve_device)
        resolve_precision(train_cfg.precision, device)  # refuse bf16/fp16 off CUDA before anything is written
        return _train(spec, model_cfg, train_cfg, ckpt, run, resume, out, device, dist, reporter, on_step, changes)
    finally:
        unlock_runs(keep=held)  # the run this call locked (a crashed process's lock goes with it)


def open_for_writing(run: Run) -> Run:
    """Lock a run for this process (one writer per run) and clear what killed writers left behind."""
    lock_run(run.path)
    for leftover in remove_stale_temps(run.path):
        warnings.warn(f"removed {leftover}, left by a write that was killed", GenkitNote, stacklevel=2)
    return run


def _train(
    spec,
    model_cfg,
    train_cfg: TrainConfig,
    ckpt,
    run: Run | None,
    resume,
    out,
    device: torch.device,
    dist,
    reporter: Reporter,
    on_step,
    changes=None,
) -> TrainResult:
    if not dist.is_main:
        reporter = Reporter()  # one progress display per job: rank 0's
    loggers = create_loggers(train_cfg.log)  # on every rank, so a bad name stops them all alike
    with dist.local_first():  # each node reads (or downloads) its own copy
        data = load_dataset(train_cfg.dataset, train_cfg.data_dir)
    if data.embedded:
        reporter.message(
            f"[yellow]No {train_cfg.dataset} files found and no download possible: training on the "
            f"{data.source}.[/yellow]"
        )
    info = data.info
    # What the run records is what it did: a value the data cannot honour is replaced, said and kept in the manifest.
    train_cfg, adjustments = fit_to_data(train_cfg, data.train_x.shape[0], dist.world_size, data.name)
    for adjustment in adjustments:
        reporter.message(f"[yellow]{adjustment.line()}[/yellow]")
    refusal = spec.refusal(info)
    if refusal:
        c, h, w = info.shape
        raise DataError(f"model '{spec.name}' cannot train on {data.name} ({c}x{h}x{w} images): {refusal}")
    torch.manual_seed(train_cfg.seed)
    net = build_model(spec, model_cfg, info, ConfigError).to(device)
    if ckpt is not None:  # everything the resumed trainer restores, checked before the run is touched
        images = train_cfg.limit or data.train_x.shape[0] - train_cfg.val_size
        check_resumable(ckpt, net, train_cfg, images, info.shape, data.name, device, dist.world_size)
    if net.conditioning == "label" and (info.num_classes is None or data.train_y is None):
        raise DataError(f"model '{spec.name}' is conditioned on class labels and {data.name} has none")

    if ckpt is None:
        # Rank 0 picks and creates the directory; the others learn its path (they never write to it).
        run = Run(dist.on_main(lambda: _new_run(spec.name, out).path))
        manifest = _manifest(spec, train_cfg, data, device, net.monitor, dist.world_size)
        manifest["adjusted"] = [a.record() for a in adjustments]
        if dist.is_main:
            run.write_json("manifest.json", manifest)
            run.write_json(
                "config.json",
                {
                    "model": {"name": spec.name, **model_cfg.model_dump(mode="json")},
                    "train": train_cfg.model_dump(mode="json"),
                },
            )
    else:
        manifest = run.read_json("manifest.json", {})
        manifest.update(
            epochs=train_cfg.epochs,
            device=describe_device(device),
            precision=train_cfg.precision,
            compile=train_cfg.compile,
        )
        progress = ckpt.meta.get("progress") or {}
        manifest.setdefault("resumes", []).append(
            {
                "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
                "from_epoch": progress.get("epoch", 0),
                "from_step": progress.get("step", 0),
                "command": " ".join(sys.argv),
                "changed": changes or {},
                "adjusted": [a.record() for a in adjustments],
            }
        )
        if dist.is_main:
            run.write_json("manifest.json", manifest)
    meta = {
        "model": spec.name,
        "plugin": manifest.get("plugin"),
        "model_config": model_cfg.model_dump(mode="json"),
        "train_config": train_cfg.model_dump(mode="json"),
        "data": {
            "name": info.name,
            "shape": list(info.shape),
            "num_classes": info.num_classes,
            "source": data.source,
            "embedded": data.embedded,
        },
        "conditioning": net.conditioning,
        "versions": manifest.get("versions"),
    }
    ranks = f" x {dist.world_size} processes ({dist.backend})" if dist.enabled else ""
    reporter.message(
        f"training {spec.name} on {data.name} ({data.source}) on {describe_device(device)}{ranks}, precision "
        f"{resolve_precision(train_cfg.precision, device).name} -> {run.path}"
    )
    trainer = Trainer(
        net,
        train_cfg,
        data,
        run,
        device,
        meta,
        reporter,
        on_step=on_step,
        dist=dist,
        loggers=loggers if dist.is_main else [],
    )
    return trainer.fit(resume=ckpt)


def _new_run(name: str, out) -> Run:
    run = open_for_writing(Run.create(name, out))
    if run.file("manifest.json").exists():  # another process created it between our check and our lock
        raise RunNotFoundError(f"output directory {run.path} already holds a run (use --resume to continue it)")
    return run


def _manifest(
    spec, train_cfg: TrainConfig, data, device: torch.device, monitor: str | None, world_size: int = 1
) -> dict[str, Any]:
    owner = get_plugin_manager().registries["models"].owner(spec.name)
    return {
        "model": spec.name,
        "plugin": {"name": owner.name, "package": owner.package, "version": owner.version},
        "dataset": data.name,
        "data_source": data.source,
        "embedded_data": data.embedded,
        "epochs": train_cfg.epochs,
        "seed": train_cfg.seed,
        "device": describe_device(device),
        "processes": world_size,
        "precision": train_cfg.precision,
        "compile": train_cfg.compile,
        "monitor": monitor,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "command": " ".join(sys.argv),
        "git_commit": _git_commit(),
        "versions": {
            "genkit": _genkit_version(),
            "torch": torch.__version__,
            "python": platform.python_version(),
            spec.name: owner.version,
        },
    }


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
        return out.stdout.strip() or None if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def _genkit_version() -> str:
    from ..plugins import _version

    return _version()
