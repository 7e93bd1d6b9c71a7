"""What the report shows of each run, read from its directory (no checkpoint is loaded)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..liveness import run_status
from ..runs import Run, latest_scores, resolve_run, score_details

_EPOCH_GRID = re.compile(r"samples_epoch(\d+)\.png")


@dataclass
class RunView:
    """One run as the report shows it."""

    label: str
    path: Path
    model: str
    dataset: str
    status: str
    status_detail: str
    epochs_done: int
    epochs: int
    config: dict[str, Any]
    manifest: dict[str, Any]
    metrics: list[dict[str, Any]]
    #: ``(metric, where scored) -> value``, the latest score of each.
    scores: dict[tuple[str, str], float | int] = field(default_factory=dict)
    #: What the latest figures depend on (samples, reference, feature extractor), one line per set.
    score_details: list[str] = field(default_factory=list)
    grid: Path | None = None

    @property
    def terms(self) -> set[str]:
        return {k for row in self.metrics for split in ("train", "val") for k in (row.get(split) or {})}


def collect_runs(targets: Sequence[str | Path]) -> list[RunView]:
    if not targets:
        raise ConfigError("name at least one run (a run directory, a checkpoint or a model name)")
    runs = [resolve_run(t) for t in targets]
    paths = [r.path.resolve() for r in runs]
    if len(set(paths)) < len(paths):
        raise ConfigError("the same run is named twice")
    labels = _labels(paths)
    return [_view(run, label) for run, label in zip(runs, labels)]


def _view(run: Run, label: str) -> RunView:
    manifest = run.read_json("manifest.json", {}) or {}
    state = run.read_json("status.json", {}) or {}
    metrics = run.read_metrics()
    status = run_status(state)
    records = run.read_json("scores.json", []) or []
    return RunView(
        label=label,
        path=run.path,
        model=manifest.get("model", "?"),
        dataset=manifest.get("dataset", "?"),
        status=status,
        status_detail=_status_detail(status, state),
        epochs_done=len(metrics),
        epochs=int(manifest.get("epochs", 0) or 0),
        config=run.read_json("config.json", {}) or {},
        manifest=manifest,
        metrics=metrics,
        scores=latest_scores(records),
        score_details=score_details(records),
        grid=last_grid(run.path),
    )


def _status_detail(status: str, state: dict[str, Any]) -> str:
    where = f"epoch {state.get('epoch', 0)}" + (f", step {state['step']}" if state.get("step") else "")
    if status == "interrupted":
        return f"interrupted after {where}; resumable with genkit train --resume"
    if status == "diverged":
        return f"diverged ({state.get('reason', 'a non-finite loss')}); last good state at {where}"
    if status == "running":
        return f"running, at {where}"
    if status == "stopped":
        return (
            f"stopped without saying why (its process is gone: killed?) at {where}; resumable from its last checkpoint"
        )
    if status == "crashed":
        return f"crashed ({state.get('reason', 'an error')}) at {where}; resumable from its last checkpoint"
    return status


def last_grid(path: Path) -> Path | None:
    """The last sample grid training wrote: samples_end.png, else the latest epoch grid, else the first;
    for a run training drew none of (a model with no default sampler), the grid ``genkit sample`` wrote."""
    if (path / "samples_end.png").is_file():
        return path / "samples_end.png"
    epochs = sorted(
        (int(m.group(1)), p) for p in path.glob("samples_epoch*.png") if (m := _EPOCH_GRID.fullmatch(p.name))
    )
    if epochs:
        return epochs[-1][1]
    for name in ("samples_start.png", "samples.png"):
        if (path / name).is_file():
            return path / name
    return None


def _labels(paths: list[Path]) -> list[str]:
    """Directory names, with their parent where two runs share a name."""
    names = [p.name for p in paths]
    return [f"{p.parent.name}/{p.name}" if names.count(p.name) > 1 else p.name for p in paths]


def flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"model": {"latent_dim": 2}}`` to ``{"model.latent_dim": 2}``."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict) and value:
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat
