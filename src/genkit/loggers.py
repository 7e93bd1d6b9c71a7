"""Loggers: where a training run's numbers and pictures go besides its own files.

Every run writes metrics.jsonl, curves.png and its sample grids itself. A
logger is an extra destination (TensorBoard is built in; W&B or MLflow come as
plugins) registered through the ``register_loggers`` hook as a
:class:`LoggerSpec` naming its class lazily, ``"package.module:Class"``, so a
hook module never imports the logger's heavy dependencies. A run enables
loggers with ``train.log = ["tensorboard"]`` or ``genkit train --log NAME``.

The trainer calls loggers from rank 0 only, and never forces the device to
wait for them: per-step terms are passed only at the steps where the loop
checks for divergence anyway (every ``train.check_every`` steps).

This module imports neither torch nor any logging library.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable, Union

from .errors import GenkitError, PluginError


class LoggerError(GenkitError):
    """A logger cannot be used: a missing optional dependency, a bad registration."""


class Logger:
    """Receives a run's progress; every method is optional (the base does nothing).

    A logger is created once per training run (its class is called with no
    arguments) and used from rank 0 only.
    """

    #: Set by the registration; shown in messages.
    name: str = ""

    def start(self, run: Any, config: dict[str, Any]) -> None:
        """Before the first step. ``run`` is the :class:`genkit.runs.Run` (``run.path`` is the
        run directory); ``config`` is ``{"model": {...}, "train": {...}, "resumed": bool}``."""

    def log_step(self, step: int, terms: dict[str, float]) -> None:
        """Training terms of one step (``step`` counts from the start of the run), every
        ``train.check_every`` steps: the steps where the loop waits for the device anyway."""

    def log_epoch(self, epoch: int, row: dict[str, Any]) -> None:
        """The epoch's row of metrics.jsonl: ``{"epoch", "train": {...}, "val": {...},
        "seconds", "images_per_second"}``; ``epoch`` counts from 1."""

    def log_images(self, name: str, images: Any, epoch: int) -> None:
        """A grid of images, a tensor ``[N, C, H, W]`` in [0, 1] on the CPU; ``epoch`` 0 is before training."""

    def close(self) -> None:
        """After the last epoch, and also when training stops early (interrupt, divergence)."""


@dataclass(frozen=True)
class LoggerSpec:
    """A logger as a plugin registers it.

    Args:
        name: what ``--log NAME`` and ``train.log`` name.
        logger: ``"module:Class"`` (imported on first use), or a class or factory
            taking no arguments and returning a :class:`Logger`.
        description: one line for ``genkit plugins``.
    """

    name: str
    logger: Union[str, Callable[[], Logger]]
    description: str = ""

    def create(self) -> Logger:
        factory = resolve_reference(self.logger, f"logger '{self.name}'")
        if not callable(factory):
            raise LoggerError(f"logger '{self.name}': {self.logger!r} is not a class or factory")
        instance = factory()
        instance.name = self.name
        return instance


def resolve_reference(ref: Any, what: str) -> Any:
    """``"package.module:attr"`` to the object it names (anything else is returned as is)."""
    if not isinstance(ref, str):
        return ref
    module_name, _, attr = ref.partition(":")
    if not module_name or not attr:
        raise PluginError(f"{what}: '{ref}' must look like 'package.module:attribute'")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except ImportError as exc:
        raise PluginError(f"{what}: cannot import {module_name} ({exc})") from None
    except AttributeError:
        raise PluginError(f"{what}: {module_name} has no attribute '{attr}'") from None
    return obj


def create_loggers(names: list[str]) -> list[Logger]:
    """One fresh logger per distinct name, in order; an unknown name is a one-line error."""
    from .plugins import get_plugin_manager

    pm = get_plugin_manager()
    return [pm.logger(name).create() for name in dict.fromkeys(names)]


class LoggerGroup:
    """The enabled loggers of one run. A logger that raises is reported once and
    dropped, so a failing remote service never ends a long training run."""

    def __init__(self, loggers: list[Logger], warn: Callable[[str], None]):
        self.loggers = list(loggers)
        self.warn = warn

    def __bool__(self) -> bool:
        return bool(self.loggers)

    def call(self, method: str, *args: Any) -> None:
        for logger in list(self.loggers):
            try:
                getattr(logger, method)(*args)
            except GenkitError:
                raise  # a user error (a missing extra) stops the run with its one line
            except Exception as exc:
                self.loggers.remove(logger)
                self.warn(f"logger '{logger.name}' failed in {method} ({type(exc).__name__}: {exc}); it is off for the rest of this run")
                if method != "close":
                    self._close(logger)

    def close(self) -> None:
        self.call("close")
        self.loggers = []

    def _close(self, logger: Logger) -> None:
        try:
            logger.close()
        except Exception:
            pass  # already reported as failing
