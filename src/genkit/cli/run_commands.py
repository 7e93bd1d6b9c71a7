"""The commands that look at runs: `genkit info`, `runs`, `report` and `explore`."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from . import views
from .shared import DEVICE_HELP, TARGET_HELP, command, err, out


@command()
def info(target: str = typer.Argument(..., help=TARGET_HELP), as_json: bool = typer.Option(False, "--json")):
    """Show what a run or checkpoint holds, and which metrics and samplers apply."""
    from .. import api

    data = api.info(target)
    if as_json:
        out.print_json(json.dumps(data, default=str))
        return
    out.print(views.info_table(data))


@command()
def runs(
    model: str | None = typer.Option(None, "--model", help="only runs of this model"),
    dataset: str | None = typer.Option(None, "--dataset", help="only runs on this dataset"),
    status: str | None = typer.Option(
        None,
        "--status",
        help="only runs that are running, finished, interrupted, diverged, crashed, stopped (killed) or unknown",
    ),
    limit: int = typer.Option(20, "--limit", min=1),
    as_json: bool = typer.Option(False, "--json", help="print the runs as JSON"),
):
    """List recent runs with model, dataset, epochs and best validation score."""
    from ..runs import list_runs

    found = list_runs(model=model, dataset=dataset, status=status)[:limit]
    if as_json:
        out.print_json(json.dumps([{**r.__dict__, "path": str(r.path)} for r in found]))
        return
    if not found:
        filtered = model or dataset or status
        out.print("no runs match" if filtered else "no runs yet (train one with: genkit train vae)")
        return
    out.print(views.runs_table(found))


@command()
def report(
    targets: list[str] = typer.Argument(
        ..., help="runs to compare: run directories, checkpoints or model names (the most recent run)"
    ),
    out_file: Path = typer.Option(Path("report.html"), "--out", help="HTML file to write"),
):
    """Write one self-contained HTML page comparing runs: curves, sample grids, scores, configs."""
    from ..report import write_report  # matplotlib and jinja2 load only when a report is made

    if any(Path(t).is_file() for t in targets):
        from .. import api

        for target in targets:  # a checkpoint named here is opened with the checks of every other command
            if Path(target).is_file():
                api.load(target, device="cpu")
    out.print(f"wrote {write_report(targets, out_file)}")


@command()
def explore(
    targets: list[str] = typer.Argument(
        ..., help="runs to serve side by side: run directories, checkpoints or model names (the most recent run)"
    ),
    port: int | None = typer.Option(None, "--port", min=1, max=65535, help="port to serve on (default: a free one)"),
    host: str = typer.Option(
        "127.0.0.1", "--host", help="address to serve on; anything but loopback lets other machines use it"
    ),
    open_browser: bool = typer.Option(False, "--open", help="open the page in a browser"),
    dataset: str | None = typer.Option(
        None, "--dataset", help="test images to pick from and score against (default: each run's own dataset)"
    ),
    data_dir: str | None = typer.Option(None, "--data-dir"),
    limit: int = typer.Option(
        500, "--limit", min=1, help="test images to pick from, score against and encode for latent directions"
    ),
    samples: int | None = typer.Option(
        None, "--samples", "-k", min=1, help="importance or dequantization samples per score (default: the model's)"
    ),
    device: str = typer.Option("auto", "--device", help=DEVICE_HELP),
):
    """Serve a local web page to sample, interpolate, walk the latent space and score images of runs."""
    from ..explore import require_extra

    require_extra()  # one line naming the extra, before any model loads
    from ..explore.server import serve

    serve(
        targets,
        host=host,
        port=port,
        open_browser=open_browser,
        device=device,
        dataset=dataset,
        data_dir=data_dir,
        limit=limit,
        samples=samples,
        say=lambda line: out.print(line, highlight=False, soft_wrap=True, markup=False),
        warn=lambda line: err.print(line, highlight=False, soft_wrap=True, markup=False),
    )
