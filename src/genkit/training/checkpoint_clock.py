"""When the loop saves besides epoch ends (``train.checkpoint_every``: every N steps or every so
many minutes), and which checkpoint a failed write leaves the run with, in words."""

from __future__ import annotations

import time
from pathlib import Path


class CheckpointClock:
    def __init__(self, interval: tuple[str, float], last_checkpoint: Path):
        self.kind, self.every = interval  # ("steps", N), ("minutes", M) or ("never", 0)
        self.last_checkpoint = last_checkpoint
        self._next = time.monotonic() + 60 * self.every
        self._last_saved: tuple[int, int] | None = None  # (epoch, step) of the last checkpoint this session wrote

    @property
    def by_steps(self) -> bool:
        """Due at the same step on every rank alike (a clock is not: ranks agree on it only at checks)."""
        return self.kind == "steps"

    def due(self, global_step: int) -> bool:
        """Whether a checkpoint is due now (a host counter or clock: no device sync)."""
        if self.kind == "steps":
            return global_step % self.every == 0
        return self.kind == "minutes" and time.monotonic() >= self._next

    def saved(self, epoch: int, step: int) -> None:
        """A checkpoint was written at (epoch, step): the clock starts again."""
        self._last_saved = (epoch, step)
        if self.kind == "minutes":
            self._next = time.monotonic() + 60 * self.every

    def last_good(self) -> str:
        if self._last_saved is not None:
            epoch, step = self._last_saved
            at = f"epoch {epoch}" if step == 0 else f"epoch {epoch + 1}, step {step}"
            return f"the last good checkpoint is {self.last_checkpoint} ({at} done), intact"
        if self.last_checkpoint.is_file():
            return f"the last good checkpoint is {self.last_checkpoint} (from before this session), intact"
        return "no checkpoint had been written"
