"""Rendering the report: what the template needs, and the jinja2 template itself (templates/)."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Sequence
from typing import Any

import jinja2

from .collect import RunView, flatten

MISSING = object()


def render(runs: Sequence[RunView]) -> str:
    from ..plugins import _version
    from .charts import run_colours, term_chart

    colours = run_colours(runs)
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("genkit.report", "templates"), autoescape=True, undefined=jinja2.StrictUndefined
    )
    env.filters["cell"] = _cell
    shared, partial = _terms(runs)
    return env.get_template("report.html.j2").render(
        runs=[_run_context(run, colours[run.label]) for run in runs],
        shared_curves=[{"term": t, "uri": term_chart(t, runs, colours)} for t in shared],
        other_curves=[
            {
                "term": t,
                "uri": term_chart(t, [r for r in runs if t in r.terms], colours),
                "runs": [r.label for r in runs if t in r.terms],
            }
            for t in partial
        ],
        scores=_scores(runs),
        config=_side_by_side([r.config for r in runs]),
        manifest=_side_by_side([r.manifest for r in runs]),
        generated=time.strftime("%Y-%m-%d %H:%M"),
        version=_version(),
    )


def _run_context(run: RunView, colour: str) -> dict[str, Any]:
    grid = None
    if run.grid is not None:
        grid = {
            "name": run.grid.name,
            "uri": "data:image/png;base64," + base64.b64encode(run.grid.read_bytes()).decode("ascii"),
        }
    return {
        "label": run.label,
        "colour": colour,
        "path": str(run.path),
        "model": run.model,
        "dataset": run.dataset,
        "status": run.status,
        "status_detail": run.status_detail,
        "epochs_done": run.epochs_done,
        "epochs": run.epochs,
        "grid": grid,
        "score_details": run.score_details,
    }


def _terms(runs: Sequence[RunView]) -> tuple[list[str], list[str]]:
    """Terms every run logs (compared across all of them), then those only some log."""
    every = set.intersection(*(r.terms for r in runs)) if runs else set()
    some = set.union(*(r.terms for r in runs)) - every if runs else set()
    return sorted(every), sorted(some, key=lambda t: (-sum(t in r.terms for r in runs), t))


def _scores(runs: Sequence[RunView]) -> dict[str, Any]:
    columns = sorted({key for r in runs for key in r.scores})
    rows = [{"label": r.label, "values": [r.scores.get(c) for c in columns]} for r in runs]
    return {"columns": [{"metric": m, "where": w} for m, w in columns], "rows": rows}


def _side_by_side(tables: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Flattened keys as rows, one column per run; rows whose values differ are marked."""
    flat = [flatten(t) for t in tables]
    keys = list(dict.fromkeys(k for f in flat for k in f))
    rows = []
    for key in keys:
        values = [f.get(key, MISSING) for f in flat]
        shown = ["\u2013" if v is MISSING else v for v in values]  # an en dash: the run has no such key
        rows.append(
            {
                "key": key,
                "values": shown,
                "differs": len({json.dumps(v, default=str, sort_keys=True) for v in shown}) > 1,
            }
        )
    return rows


def _cell(value: Any) -> str:
    """A config, manifest or score value as text."""
    if value is None:
        return "none"
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) >= 1e-3 or value == 0 else f"{value:.3g}"
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str)
    return str(value)
