"""Progress display for training and scoring: rich bars on a terminal, plain lines in a log, silence in tests."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


class Reporter:
    """Receives progress events; the base class shows nothing."""

    def message(self, text: str) -> None: ...
    def epoch_start(self, epoch: int, epochs: int, steps: int, done: int = 0) -> None: ...
    def advance(self, steps: int) -> None: ...
    def epoch_end(self, row: dict[str, Any], monitor: str | None) -> None: ...
    def close(self) -> None: ...


class RichReporter(Reporter):
    """One progress bar per epoch and a line of metrics after it.

    When the output is not a terminal (a log file, a batch job), a bar cannot be
    drawn, so a plain line says where the epoch stands every ``plain_every`` seconds.
    """

    def __init__(self, console: Console | None = None, plain_every: float = 30.0):
        self.console = console or Console(stderr=True)
        self._progress: Progress | None = None
        self._task = None
        self._pending = 0
        self._plain = not self.console.is_terminal
        self._plain_every = plain_every
        self._plain_state: dict[str, Any] = {}

    def message(self, text: str) -> None:
        self.console.print(text)

    def epoch_start(self, epoch, epochs, steps, done=0):
        if self._plain:
            now = time.perf_counter()
            self._plain_state = {
                "epoch": epoch,
                "epochs": epochs,
                "steps": steps,
                "done": done,
                "started": now,
                "last": now,
            }
            return
        if self._progress is None:
            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=self.console,
                transient=True,
            )
            self._progress.start()
        if self._task is not None:
            self._progress.remove_task(self._task)
        self._task = self._progress.add_task(f"epoch {epoch}/{epochs}", total=steps, completed=done)
        self._pending = 0

    def advance(self, steps):
        if self._plain:
            state = self._plain_state
            state["done"] += steps
            now = time.perf_counter()
            if now - state["last"] >= self._plain_every:
                state["last"] = now
                self.console.print(
                    f"epoch {state['epoch']}/{state['epochs']}: step {state['done']}/{state['steps']} "
                    f"({now - state['started']:.0f}s)",
                    highlight=False,
                )
            return
        # Batched updates: drawing the bar every step would cost more than a small model's step.
        self._pending += steps
        if self._pending >= 25 and self._progress is not None:
            self._progress.update(self._task, advance=self._pending)
            self._pending = 0

    def epoch_end(self, row, monitor):
        train, val = row.get("train", {}), row.get("val", {})
        shown = ", ".join(f"{k} {v:.3f}" for k, v in list(train.items())[:4])
        v = f" | val {monitor} {val[monitor]:.3f}" if monitor in val else ""
        self.console.print(
            f"epoch {row['epoch']:>3}: {shown}{v} | {row['seconds']:.1f}s, {row['images_per_second'] or 0:.0f} img/s"
        )

    def close(self):
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
            self._task = None
