"""The batches of one training step, for models whose updates draw several (a critic's fresh
batches before each generator step), split among the ranks of a multi-process job."""

from __future__ import annotations

from ..model import Batch, GenerativeModel
from . import distributed as ddp
from .distributed import DistContext


class StepBatches:
    """The batches of one training step, prepared one at a time as the updates draw them.

    ``bounds`` are the global batches ``[start, end)`` of the step, in order; each is split
    among the ranks, and its loss weight makes DDP's mean of unequal parts the batch's mean.
    ``local`` counts the images this process has drawn.
    """

    def __init__(self, x, y, bounds: list[tuple[int, int]], model: GenerativeModel, dist: DistContext):
        self.x, self.y, self.bounds, self.model, self.dist = x, y, bounds, model, dist
        self.drawn = 0
        self.local = 0

    def next(self) -> tuple[Batch, float]:
        start, end = self.bounds[self.drawn]
        self.drawn += 1
        lo, hi = ddp.rank_bounds(start, end, self.dist)
        self.local += hi - lo
        raw = Batch(x=self.x[lo:hi], y=None if self.y is None else self.y[lo:hi])
        return self.model.prepare_batch(raw), ddp.loss_weight(hi - lo, end - start, self.dist)
