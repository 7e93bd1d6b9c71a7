"""What the commands print: rich tables and progress bars built from the API's results.

Each function returns a renderable (the command prints it), so the commands stay a thin
layer of flags over :mod:`genkit.api`. rich's table and progress modules load only here,
when a command has something to show.
"""

from __future__ import annotations

import json
import traceback
from typing import Any

from rich.console import Console


def progress(console: Console):
    """The bar long work shows on stderr: description, bar, count, elapsed and remaining time."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )


def score_json(report) -> str:
    return json.dumps(
        {
            "model": report.model,
            "dataset": report.dataset,
            "examples": report.examples,
            **({"reference": report.reference} if report.reference else {}),
            "metrics": report.metrics(),
            "details": report.details(),
            "notes": report.notes(),
        }
    )


def score_table(report):
    from rich.table import Table

    table = Table(title=f"{report.model} on {report.dataset} test ({report.examples} images, {report.seconds:.1f}s)")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for k, v in report.metrics().items():
        table.add_row(k, f"{v:.4f}" if isinstance(v, float) else str(v))
    return table


def ood_json(report) -> str:
    return json.dumps(
        {
            "model": report.model,
            "inlier": report.inlier,
            "outlier": report.outlier,
            "samples": report.samples,
            "unit": report.unit,
            "metrics": report.metrics(),
            "plot": None if report.plot is None else str(report.plot),
            "notes": list(report.notes),
        }
    )


def ood_table(report):
    from rich.table import Table

    table = Table(
        title=f"{report.model}: {report.unit} as an outlier score (K = {report.samples}, {report.seconds:.1f}s)"
    )
    for col in ("test split", "images", f"mean {report.unit}"):
        table.add_column(col, justify="right" if col != "test split" else "left")
    for name, values in (
        (f"{report.inlier} (inlier)", report.inlier_bpd),
        (f"{report.outlier} (outlier)", report.outlier_bpd),
    ):
        table.add_row(name, str(values.numel()), f"{values.mean().item():.4f}")
    return table


INFO_ROWS = (
    "model",
    "run",
    "data",
    "progress",
    "interrupted",
    "capabilities",
    "metrics",
    "samplers",
    "model_config",
    "train_config",
    "details",
    "versions",
)


def info_table(data: dict[str, Any]):
    from rich.table import Table

    table = Table(show_header=False, title=f"{data['model']}: {data['checkpoint']}")
    for key in INFO_ROWS:
        table.add_row(key, json.dumps(data[key], default=str) if not isinstance(data[key], str) else data[key])
    for s in data["scores"][-3:]:
        table.add_row("score", json.dumps(s.get("metrics"), default=str))
    return table


def runs_table(found):
    from rich.table import Table

    table = Table(title="recent runs")
    for col in ("run", "model", "dataset", "epochs", "best val", "sample quality", "status"):
        table.add_column(col)
    for r in found:
        best = f"{r.monitor} {r.best:.3f}" if r.best is not None else "-"
        quality = "\n".join(f"{k} {r.scores[k]:.4g}" for k in SAMPLE_QUALITY if k in r.scores) or "-"
        table.add_row(str(r.path), r.model, r.dataset, f"{r.epochs_done}/{r.epochs}", best, quality, r.status)
    return table


#: The sample-quality figures ``genkit runs`` shows where a run was scored with them (latest score).
SAMPLE_QUALITY = ("inception_fid", "inception_kid", "judge_fd")


PLUGIN_STATUS_COLOURS = {"ok": "green", "broken": "red", "disabled": "yellow", "not found": "red"}


def plugins_table(report: list[dict[str, Any]], timing: bool):
    from rich.table import Table

    table = Table(title="genkit plugins")
    for col in ("plugin", "package", "version", "contract", "provides", "status", *(["import"] if timing else [])):
        table.add_column(col, overflow="fold")
    for p in report:
        provides = "\n".join(f"{k}: {', '.join(v)}" for k, v in p["provides"].items()) or "-"
        status = f"[{PLUGIN_STATUS_COLOURS.get(p['status'], 'red')}]{p['status']}[/]"
        seconds = p["import_seconds"]
        extra = [f"{seconds * 1000:.0f} ms" if seconds is not None else "-"] if timing else []
        contract = p["contract"] + (" [yellow](deprecated use)[/yellow]" if p["deprecations"] else "")
        table.add_row(p["name"], p["package"], p["version"], contract, provides, status, *extra)
    return table


def plugin_problems(report: list[dict[str, Any]]) -> list[str]:
    """Each plugin's error and warnings as markup lines, printed in full below the table
    (so a narrow terminal never cuts them)."""
    lines = []
    for p in report:
        if p["error"]:
            lines.append(f"[red]{p['name']}[/red] ({p['package']}): {p['error']}")
        lines += [f"[yellow]{p['name']}[/yellow] ({p['package']}): warning: {w}" for w in p["warnings"]]
        lines += [f"[yellow]{p['name']}[/yellow] ({p['package']}): deprecated: {d}" for d in p["deprecations"]]
    return lines


def blame(exc: BaseException) -> str:
    """Who raised ``exc``: the plugin whose code is innermost in its traceback, else genkit."""
    from ..plugins import get_plugin_manager

    owners = {p.module: p for p in get_plugin_manager().plugins if p.module and p.name != "genkit"}
    for frame, _ in reversed(list(traceback.walk_tb(exc.__traceback__))):
        top = str(frame.f_globals.get("__name__", "")).split(".")[0]
        if top in owners:
            p = owners[top]
            return f"plugin '{p.name}' ({p.package})"
    return "genkit"
