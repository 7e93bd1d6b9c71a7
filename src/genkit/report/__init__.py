"""``genkit report``: one self-contained HTML page comparing runs.

For each run: its status, the last sample grid, its config and manifest; for all
of them: training curves overlaid (each term in a panel, the terms every run
shares first) and the scores of ``RUN/scores.json`` in one table. Pictures are
embedded as data URIs, so the page needs no network and no other file.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


def write_report(targets: Sequence[str | Path], out: str | Path = "report.html") -> Path:
    """Write the report of ``targets`` (run directories, checkpoints or model names) to ``out``."""
    from ..files import write_text_atomic
    from .collect import collect_runs
    from .page import render

    runs = collect_runs(targets)
    return write_text_atomic(Path(out), render(runs))


__all__ = ["write_report"]
