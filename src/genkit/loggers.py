"""Loggers: where a training run's numbers and pictures go besides its own files.

Every run writes metrics.jsonl, curves.png and its sample grids itself. A
logger is an extra destination (TensorBoard is built in; W&B or MLflow come as
plugins) registered through the ``register_loggers`` hook as a
:class:`genkit.LoggerSpec` naming its class lazily, ``"package.module:Class"``, so a
hook module never imports the logger's heavy dependencies. A run enables
loggers with ``train.log = ["tensorboard"]`` or ``genkit train --log NAME``.

The trainer calls loggers from rank 0 only, and never forces the device to
wait for them: per-step terms are passed only at the steps where the loop
checks for divergence anyway (every ``train.check_every`` steps).

This module imports neither torch nor any logging library.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .errors import GenkitError


class LoggerError(GenkitError):
    """A logger cannot be used, for example for a missing optional dependency."""


class Logger:
    """Receives a run's progress; every method is optional (the base does nothing).

    A logger is created once per training run (its class is called with no
    arguments) and used from rank 0 only.
    """

    #: Set by the registration; shown in messages.
    name: str = ""

    def start(self, run: Any, config: dict[str, Any]) -> None:
        """Before the first step. ``run`` is the :class:`genkit.runs.Run` (``run.path`` is the
        run directory); ``config`` is ``{"model": {...}, "train": {...}, "resumed": bool, "start_step": int}``,
        where ``start_step`` is the global step training resumes after (0 for a new run): anything a
        logger holds for later steps is from before a crash or divergence and is replaced."""

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
                self.warn(
                    f"logger '{logger.name}' failed in {method} ({type(exc).__name__}: {exc}); it is off for the "
                    "rest of this run"
                )
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
