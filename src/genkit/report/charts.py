"""The report's curves: one small PNG per logged term, every run that logs it overlaid."""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")  # files only; no display is needed or wanted
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from .collect import RunView  # noqa: E402


def term_chart(term: str, runs: Sequence[RunView], colours: dict[str, str]) -> str:
    """A ``data:image/png;base64,...`` URI: validation solid, training dashed, a colour per run."""
    fig, ax = plt.subplots(figsize=(3.8, 2.7))
    epochs_seen: set[int] = set()
    for run in runs:
        epochs = [row["epoch"] for row in run.metrics]
        epochs_seen.update(epochs)
        for split, style in (("val", "-"), ("train", "--")):
            points = [(e, row.get(split, {}).get(term)) for e, row in zip(epochs, run.metrics)]
            points = [(e, v) for e, v in points if v is not None]
            if points:
                xs, ys = zip(*points)
                ax.plot(
                    xs,
                    ys,
                    style,
                    color=colours[run.label],
                    marker="." if len(xs) < 30 else None,
                    label=f"{run.label} ({split})",
                )
    ax.set_title(term, fontsize=10)
    ax.set_xlabel("epoch")
    if len(epochs_seen) <= 10:  # few epochs: a tick at each, and a single epoch not stretched over fractions
        ax.set_xticks(sorted(epochs_seen))
        ax.set_xlim(min(epochs_seen) - 0.5, max(epochs_seen) + 0.5)
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def run_colours(runs: Sequence[RunView]) -> dict[str, str]:
    """A distinct colour per run (matplotlib's default cycle), used by the charts and the page."""
    cycle = [to_hex(c) for c in plt.rcParams["axes.prop_cycle"].by_key()["color"]]
    return {run.label: cycle[i % len(cycle)] for i, run in enumerate(runs)}
