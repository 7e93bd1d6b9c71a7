"""Run directories: where a training run keeps its config, metrics, pictures and checkpoints.

Layout of a run::

    RUN/config.json        resolved model and training config
    RUN/manifest.json      versions, seed, device, data source, git commit
    RUN/metrics.jsonl      one line per epoch
    RUN/*.png              curves, sample grids and what later commands draw
    RUN/checkpoints/last.safetensors  latest state (also after Ctrl-C)
    RUN/checkpoints/best.safetensors  best validation score so far
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError, RunNotFoundError
from .files import exclusive, write_text_atomic
from .liveness import run_status

RUNS_ENV = "GENKIT_RUNS_DIR"
#: What a run is: what status.json records (running, finished, interrupted by a signal with a
#: resumable checkpoint, diverged, crashed by an error), "stopped" for a run recorded as running
#: whose process is gone (killed), "unknown" for a run without a status.
STATUSES = ("running", "finished", "interrupted", "diverged", "crashed", "stopped", "unknown")


def runs_root() -> Path:
    """Where runs go by default: ``GENKIT_RUNS_DIR`` or ``./runs``."""
    return Path(os.environ.get(RUNS_ENV) or "runs")


@dataclass
class Run:
    """A run directory."""

    path: Path

    @classmethod
    def create(cls, model_name: str, out: str | Path | None = None) -> Run:
        if out is not None:
            path = Path(out)
            if path.exists() and any(path.iterdir()):
                raise RunNotFoundError(
                    f"output directory {path} already exists and is not empty (use --resume to continue a run)"
                )
            path.mkdir(parents=True, exist_ok=True)
            return cls(path)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        runs_root().mkdir(parents=True, exist_ok=True)
        for n in range(1, 10_000):  # two runs started in the same second get -2, -3...
            path = runs_root() / (f"{model_name}-{stamp}" + (f"-{n}" if n > 1 else ""))
            try:
                path.mkdir()
                return cls(path)
            except FileExistsError:
                continue
        raise RunNotFoundError(f"cannot pick a new run directory under {runs_root()}")

    # -- files ----------------------------------------------------------------
    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    @property
    def last_checkpoint(self) -> Path:
        return self.checkpoints / "last.safetensors"

    @property
    def best_checkpoint(self) -> Path:
        return self.checkpoints / "best.safetensors"

    def file(self, name: str) -> Path:
        return self.path / name

    def write_json(self, name: str, data: Any) -> None:
        write_text_atomic(self.path / name, json.dumps(data, indent=2, default=str) + "\n")

    def read_json(self, name: str, default: Any = None) -> Any:
        """The JSON in ``name``, or ``default`` when it is missing, unreadable, or (with a
        default given) not of the default's type: run files are untrusted input too."""
        p = self.path / name
        if not p.is_file():
            return default
        try:
            value = json.loads(p.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError):
            return default
        return default if default is not None and not isinstance(value, type(default)) else value

    # -- metrics --------------------------------------------------------------
    def read_metrics(self) -> list[dict[str, Any]]:
        p = self.path / "metrics.jsonl"
        if not p.is_file():
            return []
        rows = []
        for line in p.read_text().splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                break  # a line cut short by a crash ends the readable history
            if not isinstance(row, dict):
                break
            rows.append(row)
        return rows

    def write_metrics(self, rows: list[dict[str, Any]]) -> None:
        write_text_atomic(self.path / "metrics.jsonl", "".join(json.dumps(r) + "\n" for r in rows))

    def append_score(self, record: dict[str, Any]) -> None:
        # Two scores of one run at once must both be kept: the read and the write happen under one lock.
        with exclusive(self.path / ".scores.lock", self.path / "scores.json"):
            scores = self.read_json("scores.json", default=[])
            scores.append(record)
            self.write_json("scores.json", scores)


@dataclass
class RunSummary:
    path: Path
    model: str
    dataset: str
    epochs_done: int
    epochs: int
    best: float | None
    monitor: str
    created: str
    status: str
    #: The latest value of each metric in RUN/scores.json.
    scores: dict[str, float | int] = field(default_factory=dict)


def latest_scores(records: list[dict[str, Any]]) -> dict[tuple[str, str], float | int]:
    """``(metric, where scored) -> value`` from a run's scores.json records; later records replace
    earlier ones, so a run scored twice shows its latest figures."""
    scores: dict[tuple[str, str], float | int] = {}
    for record in records if isinstance(records, list) else []:
        if not isinstance(record, dict):
            continue
        where = f"{record.get('dataset', '?')} test"
        if record.get("ood"):
            where += f" vs {record['ood']} test"
        if record.get("reference"):
            where += f" vs {record['reference']}"
        for name, value in (record.get("metrics") or {}).items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                scores[(name, where)] = value  # an int stays a count (samples, examples)
    return scores


def score_details(records: list[dict[str, Any]]) -> list[str]:
    """What the latest figures of each metric depend on (scores.json ``details``), one line per
    distinct set of details, naming the metrics it applies to."""
    latest: dict[str, dict[str, Any]] = {}
    for record in records if isinstance(records, list) else []:
        if isinstance(record, dict) and isinstance(record.get("details"), dict):
            latest.update({k: v for k, v in record["details"].items() if isinstance(v, dict)})
    groups: dict[str, list[str]] = {}
    for metric, details in latest.items():
        groups.setdefault(", ".join(f"{k} {v}" for k, v in details.items()), []).append(metric)
    return [f"{', '.join(metrics)}: {text}" for text, metrics in groups.items()]


def list_runs(
    root: Path | None = None, model: str | None = None, dataset: str | None = None, status: str | None = None
) -> list[RunSummary]:
    """Runs under ``root``, newest first; ``model``, ``dataset`` and ``status`` keep only the runs that match."""
    if status is not None and status not in STATUSES:
        raise ConfigError(f"unknown run status '{status}' (one of: {', '.join(STATUSES)})")
    root = root or runs_root()
    if not root.is_dir():
        return []
    found = []
    for d in root.iterdir():
        manifest = Run(d).read_json("manifest.json", {}) if d.is_dir() else None
        if (
            not manifest
            or (model and manifest.get("model") != model)
            or (dataset and manifest.get("dataset") != dataset)
        ):
            continue
        run = Run(d)
        metrics = run.read_metrics()
        monitor = str(manifest.get("monitor", "loss"))
        vals = [
            m["val"][monitor]
            for m in metrics
            if isinstance(m.get("val"), dict) and isinstance(m["val"].get(monitor), (int, float))
        ]
        found.append(
            RunSummary(
                path=d,
                model=str(manifest.get("model", "?")),
                dataset=str(manifest.get("dataset", "?")),
                epochs_done=len(metrics),
                epochs=manifest.get("epochs") if isinstance(manifest.get("epochs"), int) else 0,
                best=min(vals) if vals else None,
                monitor=monitor,
                created=str(manifest.get("created", "")),
                status=run_status(run.read_json("status.json", {})),
                scores={name: v for (name, _), v in latest_scores(run.read_json("scores.json", []) or []).items()},
            )
        )
    if status is not None:
        found = [r for r in found if r.status == status]
    return sorted(found, key=lambda r: (r.created, r.path.name), reverse=True)


def resolve_target(target: str | Path) -> tuple[Run, Path]:
    """A run directory, a checkpoint file, or a model name (its most recent run) to (run, checkpoint)."""
    path = Path(target)
    if path.is_file():
        run_dir = path.parent.parent if path.parent.name == "checkpoints" else path.parent
        return Run(run_dir), path
    if path.is_dir():
        run = Run(path)
        for ckpt in (run.last_checkpoint, run.best_checkpoint):
            if ckpt.is_file():
                return run, ckpt
        raise RunNotFoundError(f"{path} holds no checkpoint (expected {run.last_checkpoint})")
    if os.sep not in str(target) and not str(target).endswith(".safetensors"):
        runs = [r for r in list_runs(model=str(target)) if Run(r.path).last_checkpoint.is_file()]
        if runs:
            run = Run(runs[0].path)
            return run, run.last_checkpoint
        raise RunNotFoundError(
            f"no run directory, checkpoint or runs of a model named '{target}' (looked in {runs_root()})"
        )
    raise RunNotFoundError(f"no such run or checkpoint: {target}")


def resolve_run(target: str | Path) -> Run:
    """A run directory, a checkpoint file inside one, or a model name (its most recent run,
    finished or not) to the run; unlike :func:`resolve_target` no checkpoint is needed."""
    path = Path(target)
    if path.is_file():
        return Run(path.parent.parent if path.parent.name == "checkpoints" else path.parent)
    if path.is_dir():
        if not (path / "manifest.json").is_file():
            raise RunNotFoundError(f"{path} is not a run directory (it has no manifest.json)")
        return Run(path)
    if os.sep not in str(target):
        found = list_runs(model=str(target))
        if found:
            return Run(found[0].path)
    raise RunNotFoundError(
        f"no run directory, checkpoint or runs of a model named '{target}' (looked in {runs_root()})"
    )
