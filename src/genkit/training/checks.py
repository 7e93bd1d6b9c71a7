"""Small rules of the training loop, kept apart so they can be read and tested alone."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from ..config import TrainConfig
from ..errors import DataError, GenkitError


def has_graph(value: Any) -> bool:
    """Whether a carry holds a tensor that gradients flow through."""
    if isinstance(value, torch.Tensor):
        return value.requires_grad
    if isinstance(value, (list, tuple)):
        return any(has_graph(v) for v in value)
    if isinstance(value, dict):
        return any(has_graph(v) for v in value.values())
    return False


def check_loss_terms(logged: list[dict[str, torch.Tensor]], model: str) -> None:
    """Refuse, naming the term, an objective's logged term that is not a scalar tensor."""
    for terms in logged:
        for name, value in terms.items():
            if not isinstance(value, torch.Tensor) or value.numel() != 1:
                what = (
                    f"a tensor of shape {list(value.shape)}"
                    if isinstance(value, torch.Tensor)
                    else type(value).__name__
                )
                raise GenkitError(
                    f"model '{model}': loss term '{name}' must be a scalar tensor (a batch mean), got {what}"
                )


def steps_per_epoch(n: int, batch_size: int, world_size: int, draws: int = 1) -> int:
    """Steps in an epoch of ``n`` images, each training on ``draws`` batches (see
    :func:`batches_per_step`). A last step whose batches would give a process fewer than
    two images each joins the step before it: batch norm cannot normalise a batch of one,
    and no image is left out (see :func:`batch_bounds`)."""
    per_step = batch_size * draws
    steps = math.ceil(n / per_step)
    last = n - (steps - 1) * per_step
    return steps - 1 if steps > 1 and last < 2 * world_size * draws else steps


def batches_per_step(updates: list[Any]) -> int:
    """How many batches one training step draws: one per repeat of each update with
    ``fresh_batch``, and one for updates before the first such (which share it)."""
    draws, drawn = 0, False
    for update in updates:
        if getattr(update, "fresh_batch", False):
            draws, drawn = draws + update.repeats, True
        elif not drawn:
            draws, drawn = draws + 1, True
    return max(draws, 1)


def draw_bounds(start: int, end: int, draws: int) -> list[tuple[int, int]]:
    """One step's images ``[start, end)`` as ``draws`` consecutive batches: equal parts of
    the step's images, the larger first (a full step's are exactly ``train.batch_size``)."""
    base, extra = divmod(end - start, draws)
    bounds, lo = [], start
    for k in range(draws):
        hi = lo + base + (1 if k < extra else 0)
        bounds.append((lo, hi))
        lo = hi
    return bounds


def batch_bounds(step: int, steps: int, n: int, batch_size: int) -> tuple[int, int]:
    """The images ``[start, end)`` of one step; the last step takes every image left."""
    start = step * batch_size
    return start, (n if step == steps - 1 else start + batch_size)


@dataclass
class Adjustment:
    """A setting the data could not honour as given, and what was used instead."""

    setting: str
    asked: Any
    used: Any
    reason: str

    def line(self) -> str:
        return f"{self.setting}={self.asked} {self.reason}"

    def record(self) -> dict[str, Any]:
        return {"setting": self.setting, "asked": self.asked, "used": self.used, "reason": self.reason}


def fit_to_data(cfg: TrainConfig, images: int, world_size: int, dataset: str) -> tuple[TrainConfig, list[Adjustment]]:
    """The training settings fitted to a training split of ``images`` images, with each change said.

    The validation hold-out is at most a sixth of the images; ``limit`` at most what is left
    after it; a batch larger than the images trained on trains on all of them. An epoch needs
    at least two images per process (a batch of one breaks batch norm), else :class:`DataError`.
    """
    adjustments = []
    largest = images // 6
    if cfg.val_size > largest:
        adjustments.append(
            Adjustment(
                "train.val_size",
                cfg.val_size,
                largest,
                f"is more than a sixth of the {images} training images; holding out {largest}",
            )
        )
        cfg = cfg.model_copy(update={"val_size": largest})
    left = images - cfg.val_size
    if cfg.limit is not None and cfg.limit > left:
        adjustments.append(
            Adjustment(
                "train.limit",
                cfg.limit,
                left,
                f"is more than the {left} images left after the validation hold-out; training on {left}",
            )
        )
        cfg = cfg.model_copy(update={"limit": left})
    trained = left if cfg.limit is None else cfg.limit
    if trained < 2 * world_size:
        per = " per process" if world_size > 1 else ""
        raise DataError(
            f"{dataset} leaves {trained} training image(s) after holding out {cfg.val_size} for validation; an epoch "
            f"needs at least 2{per} (lower train.val_size or use a larger dataset)"
        )
    if cfg.batch_size > trained:
        adjustments.append(
            Adjustment(
                "train.batch_size",
                cfg.batch_size,
                trained,
                f"is more than the {trained} training images; each step trains on all of them",
            )
        )
    return cfg, adjustments
