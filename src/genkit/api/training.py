"""``genkit.train``: resolve a run (:class:`Setup`: configs, device, data, model), open its directory, train."""

from __future__ import annotations

import dataclasses
import platform
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from pydantic import BaseModel

from ..checkpoint import Checkpoint, load_checkpoint
from ..config import TrainConfig, check_keys, check_types, merge_layers, read_toml, validate
from ..data import load_dataset
from ..data.datasets import ImageDataset
from ..device import describe_device, resolve_device
from ..errors import ConfigError, DataError, GenkitNote, RunNotFoundError
from ..files import remove_stale_temps
from ..liveness import held_runs, lock_run, unlock_runs
from ..loggers import Logger, create_loggers
from ..metadata import validate_metadata
from ..model import GenerativeModel
from ..plugins import get_plugin_manager
from ..runs import Run, resolve_target
from ..spec import ModelSpec
from ..training import distributed
from ..training.checks import Adjustment, fit_to_data
from ..training.distributed import DistContext
from ..training.precision import resolve_precision
from ..training.reporting import Reporter, RichReporter
from ..training.state import check_data_shape, check_resumable
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

    Returns the spec, the model config, the train config and where the run resumes. A change
    that would alter the run's meaning is a :class:`ConfigError`, as is ``out`` (a resumed run
    continues in its own directory).
    """
    if distributed.is_main_process() and (Path(resume) / "manifest.json").is_file():
        # Locked before anything is read: another writer may be about to replace the checkpoint, or
        # (just started) not have written one yet, and "being written by another process" says why.
        open_for_writing(Run(Path(resume)))
    run, ckpt_path = resolve_target(resume)
    if out is not None and Path(out).resolve() != run.path.resolve():
        raise ConfigError(f"--out cannot be given with --resume: the run continues in {run.path}")
    if distributed.is_main_process():
        open_for_writing(run)  # a no-op where the run directory was locked above
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
    return spec, model_cfg, train_cfg, Resumed(resume, ckpt, run, changes)


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
    held = held_runs()
    try:
        setup = resolve_setup(model, config=config, overrides=overrides, sets=sets, resume=resume, out=out)
        return _train(setup, reporter or RichReporter(), on_step)
    finally:
        unlock_runs(keep=held)  # the run this call locked (a crashed process's lock goes with it)


def open_for_writing(run: Run) -> Run:
    """Lock a run for this process (one writer per run) and clear what killed writers left behind."""
    lock_run(run.path)
    for leftover in remove_stale_temps(run.path):
        warnings.warn(f"removed {leftover}, left by a write that was killed", GenkitNote, stacklevel=2)
    return run


def _new_run(name: str, out) -> Run:
    run = open_for_writing(Run.create(name, out))
    if run.file("manifest.json").exists():  # another process created it between our check and our lock
        raise RunNotFoundError(f"output directory {run.path} already holds a run (use --resume to continue it)")
    return run


@dataclass(frozen=True)
class Resumed:
    """Where a resumed run continues: the checkpoint, its run, and each changed setting as [old, new]."""

    target: str | Path
    checkpoint: Checkpoint
    run: Run
    changes: dict[str, list[Any]]


@dataclass(frozen=True)
class Setup:
    """A training run resolved before anything is written (:func:`resolve_setup` makes it): what
    ``genkit.train`` opens a run directory for and trains."""

    spec: ModelSpec
    model_config: BaseModel
    #: What the run does: a value the data could not honour is replaced (see ``adjustments``).
    config: TrainConfig
    device: torch.device
    dist: DistContext
    data: ImageDataset
    #: Built from the seed, on the device, checked against the data.
    model: GenerativeModel
    #: Where progress goes besides the run's files: rank 0's loggers (none on the other ranks).
    loggers: list[Logger]
    #: The settings the data could not honour as given, and what was used instead.
    adjustments: list[Adjustment]
    resumed: Resumed | None = None
    #: The directory a new run is written to (None: ``runs/MODEL-TIMESTAMP``).
    out: str | Path | None = None

    def notes(self) -> list[str]:
        """What the user should know before the run starts: embedded data, replaced settings."""
        embedded = (
            [f"No {self.config.dataset} files found and no download possible: training on the {self.data.source}."]
            if self.data.embedded
            else []
        )
        return embedded + [a.line() for a in self.adjustments]

    def config_record(self) -> dict[str, Any]:
        """The run's ``config.json``: both configs as the run uses them."""
        return {
            "model": {"name": self.spec.name, **self.model_config.model_dump(mode="json")},
            "train": self.config.model_dump(mode="json"),
        }


def resolve_setup(
    model: str | None = None,
    *,
    config: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
    sets: list[str] | None = None,
    resume: str | Path | None = None,
    out: str | Path | None = None,
) -> Setup:
    """Everything a run is before its first step, each refusal made before anything is written
    (the arguments as for :func:`train`)."""
    # The configs: a new run's from file, flags and --set; a resumed run's from its checkpoint.
    resumed = None
    if resume is None:
        spec, model_cfg, cfg = resolve_config(model, config, overrides, sets)
    else:
        spec, model_cfg, cfg, resumed = resolve_resume(resume, model, config, overrides, sets, out)

    # The device and the processes (under torchrun); a precision the device lacks is refused here.
    dist, device = distributed.setup(cfg.device, resolve_device)
    resolve_precision(cfg.precision, device)
    loggers = create_loggers(cfg.log)  # on every rank, so a bad name stops them all alike

    # The data: read once per node; the settings fitted to it (validation split, limit, batch).
    with dist.local_first():  # each node reads (or downloads) its own copy
        data = load_dataset(cfg.dataset, cfg.data_dir)
    cfg, adjustments = fit_to_data(cfg, data.train_x.shape[0], dist.world_size, data.name)
    _check_data(spec, data, resumed)

    # The model: built from the seed on the device, and given labels if it is conditioned on them. It
    # learns the batch one objective call will see (this process's part), so it can check it.
    torch.manual_seed(cfg.seed)
    info = dataclasses.replace(data.info, batch_size=distributed.local_batch_size(cfg.batch_size, dist))
    net = build_model(spec, model_cfg, info, ConfigError).to(device)
    if net.conditioning == "label" and (data.num_classes is None or data.train_y is None):
        raise DataError(f"model '{spec.name}' is conditioned on class labels and {data.name} has none")
    if resumed is not None:  # everything the resumed trainer restores, checked before the run is touched
        images = cfg.limit or data.train_x.shape[0] - cfg.val_size
        check_resumable(resumed.checkpoint, net, cfg, images, data.info.shape, data.name, device, dist.world_size)
    rank_loggers = loggers if dist.is_main else []
    return Setup(spec, model_cfg, cfg, device, dist, data, net, rank_loggers, adjustments, resumed, out)


def _train(setup: Setup, reporter: Reporter, on_step) -> TrainResult:
    """Open the run directory and train: every check has passed."""
    if not setup.dist.is_main:
        reporter = Reporter()  # one progress display per job: rank 0's
    for note in setup.notes():
        reporter.message(f"[yellow]{note}[/yellow]")
    run, manifest = _open_run(setup)
    ranks = f" x {setup.dist.world_size} processes ({setup.dist.backend})" if setup.dist.enabled else ""
    reporter.message(
        f"training {setup.spec.name} on {setup.data.name} ({setup.data.source}) on {describe_device(setup.device)}"
        f"{ranks}, precision {resolve_precision(setup.config.precision, setup.device).name} -> {run.path}"
    )
    trainer = Trainer(
        setup.model,
        setup.config,
        setup.data,
        run,
        setup.device,
        _metadata(setup, manifest),
        reporter,
        on_step=on_step,
        dist=setup.dist,
        loggers=setup.loggers,
    )
    return trainer.fit(resume=None if setup.resumed is None else setup.resumed.checkpoint)


def _check_data(spec: ModelSpec, data: ImageDataset, resumed: Resumed | None) -> None:
    """Refuse images the model cannot take, or of another shape than a resumed run's."""
    info = data.info
    refusal = spec.refusal(info)
    if refusal:
        c, h, w = info.shape
        raise DataError(f"model '{spec.name}' cannot train on {data.name} ({c}x{h}x{w} images): {refusal}")
    if resumed is not None:
        check_data_shape(resumed.checkpoint.meta, info.shape, data.name, resumed.checkpoint.path)


def _open_run(setup: Setup) -> tuple[Run, dict[str, Any]]:
    """The run directory (a new one, or the resumed run's) with its manifest and config written by rank 0.

    A resumed run's manifest gains this session under ``resumes``, and its ``config.json`` says
    what it now trains to (the epochs it was extended to, say)."""
    dist, resumed = setup.dist, setup.resumed
    adjusted = [a.record() for a in setup.adjustments]
    if resumed is None:
        # Rank 0 picks and creates the directory; the others learn its path (they never write to it).
        run = Run(dist.on_main(lambda: _new_run(setup.spec.name, setup.out).path))
        manifest = {**_manifest(setup), "adjusted": adjusted}
    else:
        run, cfg = resumed.run, setup.config
        manifest = run.read_json("manifest.json", {})
        manifest.update(
            epochs=cfg.epochs, device=describe_device(setup.device), precision=cfg.precision, compile=cfg.compile
        )
        progress = resumed.checkpoint.meta.get("progress") or {}
        manifest.setdefault("resumes", []).append(
            {
                "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
                "from_epoch": progress.get("epoch", 0),
                "from_step": progress.get("step", 0),
                "command": " ".join(sys.argv),
                "changed": resumed.changes,
                "adjusted": adjusted,
            }
        )
    if dist.is_main:
        run.write_json("manifest.json", manifest)
        run.write_json("config.json", setup.config_record())
    return run, manifest


def _metadata(setup: Setup, manifest: dict[str, Any]) -> dict[str, Any]:
    """What every checkpoint of the run records besides its tensors (read back by :mod:`genkit.metadata`)."""
    data = setup.data
    return {
        "model": setup.spec.name,
        "plugin": manifest.get("plugin"),
        "model_config": setup.model_config.model_dump(mode="json"),
        "train_config": setup.config.model_dump(mode="json"),
        "data": {
            "name": data.name,
            "shape": list(data.info.shape),
            "num_classes": data.num_classes,
            "source": data.source,
            "embedded": data.embedded,
        },
        "conditioning": setup.model.conditioning,
        "versions": manifest.get("versions"),
    }


def _manifest(setup: Setup) -> dict[str, Any]:
    """A new run's ``manifest.json``: what it trains, where, and with which versions."""
    spec, cfg, data = setup.spec, setup.config, setup.data
    owner = get_plugin_manager().registries["models"].owner(spec.name)
    return {
        "model": spec.name,
        "plugin": {"name": owner.name, "package": owner.package, "version": owner.version},
        "dataset": data.name,
        "data_source": data.source,
        "embedded_data": data.embedded,
        "epochs": cfg.epochs,
        "seed": cfg.seed,
        "device": describe_device(setup.device),
        "processes": setup.dist.world_size,
        "precision": cfg.precision,
        "compile": cfg.compile,
        "monitor": setup.model.monitor,
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
