"""The ``genkit`` command line: a thin typer layer over :mod:`genkit.api`.

Every user error is a :class:`GenkitError`, printed as one red line with exit
code 1; nothing here holds logic that the Python API lacks.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from . import api
from .errors import ConfigError, GenkitError

app = typer.Typer(add_completion=False, no_args_is_help=True, help="genkit: train, sample and score deep generative models on images.")
out = Console()
err = Console(stderr=True)
_ARGV: list[str] = []  # the command line main() was given (``--nproc`` relaunches it under torchrun)

TARGET_HELP = "a run directory, a checkpoint file, or a model name (its most recent run)"
Device = typer.Option("auto", "--device", help="auto, cpu, cuda or cuda:N")


@app.command()
def train(
    model: Optional[str] = typer.Argument(None, help="model name (see `genkit plugins`); may come from --config"),
    config: Optional[Path] = typer.Option(None, "--config", help="TOML file with \\[model] and \\[train] tables"),
    dataset: Optional[str] = typer.Option(None, "--dataset", help="mnist, fashion-mnist, or a plugin's dataset"),
    data_dir: Optional[str] = typer.Option(None, "--data-dir", help="directory holding the dataset files"),
    epochs: Optional[int] = typer.Option(None, "--epochs"),
    batch_size: Optional[int] = typer.Option(None, "--batch-size"),
    lr: Optional[float] = typer.Option(None, "--lr"),
    device: Optional[str] = typer.Option(None, "--device", help="auto, cpu, cuda or cuda:N"),
    seed: Optional[int] = typer.Option(None, "--seed"),
    out_dir: Optional[Path] = typer.Option(None, "--out", help="run directory (default runs/MODEL-TIMESTAMP)"),
    resume: Optional[str] = typer.Option(None, "--resume", help="continue this run directory or checkpoint"),
    set_: List[str] = typer.Option([], "--set", help="override any config value: model.latent_dim=2, train.val_size=5000"),
    precision: Optional[str] = typer.Option(None, "--precision", help="fp32, bf16, fp16 or auto (mixed precision needs CUDA)"),
    compile_: Optional[bool] = typer.Option(None, "--compile/--no-compile", help="run the objectives through torch.compile"),
    nproc: Optional[int] = typer.Option(None, "--nproc", min=1, help="train with N processes on this machine (launches torchrun; one per GPU, or gloo on CPU)"),
):
    """Train a model; writes a run directory with curves, sample grids and checkpoints."""
    if nproc is not None and nproc > 1:
        from .launch import launch_torchrun

        raise typer.Exit(launch_torchrun(nproc, _ARGV))
    overrides = {"train.dataset": dataset, "train.data_dir": data_dir, "train.epochs": epochs, "train.batch_size": batch_size, "train.lr": lr, "train.device": device, "train.seed": seed, "train.precision": precision, "train.compile": compile_}
    result = api.train(model, config=config, overrides=overrides, sets=set_, resume=resume, out=out_dir)
    last = result.metrics[-1] if result.metrics else {}
    if int(os.environ.get("RANK", "0")) != 0:
        return  # under torchrun, rank 0 reports for the job
    out.print(f"[green]done[/green]: {result.run.path} ({len(result.metrics)} epochs; final val {json.dumps(last.get('val', {}))})")


@app.command()
def sample(
    target: str = typer.Argument(..., help=TARGET_HELP),
    n: int = typer.Option(25, "-n", help="number of samples"),
    temperature: float = typer.Option(1.0, "--temperature", "-t", help="scale of the prior's standard deviation"),
    label: Optional[int] = typer.Option(None, "--label", help="class to draw (label-conditional models)"),
    sampler: str = typer.Option("prior", "--sampler"),
    seed: int = typer.Option(0, "--seed"),
    out_file: Optional[Path] = typer.Option(None, "--out", help="PNG to write (default RUN/samples.png)"),
    device: str = Device,
):
    """Draw samples from a trained model as a grid."""
    pic = api.sample(target, n, temperature=temperature, seed=seed, label=label, sampler=sampler, out=out_file, device=device)
    out.print(f"wrote {pic.path}")


@app.command()
def interpolate(
    target: str = typer.Argument(..., help=TARGET_HELP),
    steps: int = typer.Option(7, "--steps", help="images between the two ends"),
    method: str = typer.Option("both", "--method", help="linear, spherical or both"),
    from_class: Optional[int] = typer.Option(None, "--from-class"),
    to_class: Optional[int] = typer.Option(None, "--to-class"),
    seed: int = typer.Option(0, "--seed"),
    data_dir: Optional[str] = typer.Option(None, "--data-dir"),
    out_file: Optional[Path] = typer.Option(None, "--out", help="PNG to write (default RUN/interpolation.png)"),
    device: str = Device,
):
    """Decode a path between two latent points of different classes."""
    pic = api.interpolate(target, steps, method=method, from_class=from_class, to_class=to_class, seed=seed, out=out_file, device=device, data_dir=data_dir)
    out.print(f"wrote {pic.path}")


@app.command()
def manifold(
    target: str = typer.Argument(..., help=TARGET_HELP),
    side: int = typer.Option(20, "--side", help="grid points per axis"),
    out_file: Optional[Path] = typer.Option(None, "--out", help="PNG to write (default RUN/manifold.png)"),
    device: str = Device,
):
    """Decode a grid over a 2-D latent space into one image."""
    pic = api.manifold(target, side, out=out_file, device=device)
    out.print(f"wrote {pic.path}")


@app.command()
def score(
    target: str = typer.Argument(..., help=TARGET_HELP),
    metric: List[str] = typer.Option([], "--metric", "-m", help="metric name; repeat for several (default: the model's)"),
    samples: Optional[int] = typer.Option(None, "--samples", "-k", help="importance or dequantization samples per image"),
    dataset: Optional[str] = typer.Option(None, "--dataset", help="score on another dataset's test split"),
    data_dir: Optional[str] = typer.Option(None, "--data-dir"),
    limit: Optional[int] = typer.Option(None, "--limit", help="score only the first N test images"),
    seed: int = typer.Option(0, "--seed", help="seed of every evaluator's randomness (binarization, latent noise): the same seed gives the same figures"),
    ood: Optional[str] = typer.Option(None, "--ood", help="outlier dataset: bpd histograms of both test splits, their means and the AUROC"),
    as_json: bool = typer.Option(False, "--json", help="print the metrics as JSON"),
    device: str = Device,
):
    """Score a trained model on a test split (likelihood, bound, sample quality...)."""
    with _progress() as progress:
        def start(name: str, total: int):
            task = progress.add_task(f"scoring {name}", total=total)
            return lambda k: progress.update(task, advance=k)

        if ood:
            if metric and metric != ["bpd"]:
                raise ConfigError("--ood scores by bits per dimension of the model's data; leave out --metric")
            report = api.score_ood(target, ood, dataset=dataset, samples=samples, data_dir=data_dir, limit=limit, seed=seed, device=device, progress=start)
            return _print_ood(report, as_json)
        report = api.score(target, metric or None, samples=samples, dataset=dataset, data_dir=data_dir, limit=limit, seed=seed, device=device, progress=start)
    if as_json:
        out.print_json(json.dumps({"model": report.model, "dataset": report.dataset, "examples": report.examples, "metrics": report.metrics(), "notes": report.notes()}))
        return
    table = Table(title=f"{report.model} on {report.dataset} test ({report.examples} images, {report.seconds:.1f}s)")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for k, v in report.metrics().items():
        table.add_row(k, f"{v:.4f}" if isinstance(v, float) else str(v))
    out.print(table)
    for note in report.notes():
        out.print(note)


def _print_ood(report, as_json: bool) -> None:
    if as_json:
        out.print_json(json.dumps({"model": report.model, "inlier": report.inlier, "outlier": report.outlier, "samples": report.samples, "unit": report.unit, "metrics": report.metrics(), "plot": str(report.plot)}))
        return
    table = Table(title=f"{report.model}: {report.unit} as an outlier score (K = {report.samples}, {report.seconds:.1f}s)")
    for col in ("test split", "images", f"mean {report.unit}"):
        table.add_column(col, justify="right" if col != "test split" else "left")
    for name, values in ((f"{report.inlier} (inlier)", report.inlier_bpd), (f"{report.outlier} (outlier)", report.outlier_bpd)):
        table.add_row(name, str(values.numel()), f"{values.mean().item():.4f}")
    out.print(table)
    out.print(f"AUROC (higher {report.unit} = outlier): {report.auroc:.4f}")
    out.print(f"wrote {report.plot}")


@app.command()
def info(target: str = typer.Argument(..., help=TARGET_HELP), as_json: bool = typer.Option(False, "--json")):
    """Show what a run or checkpoint holds."""
    data = api.info(target)
    if as_json:
        out.print_json(json.dumps(data, default=str))
        return
    table = Table(show_header=False, title=f"{data['model']}: {data['checkpoint']}")
    for key in ("model", "run", "data", "progress", "interrupted", "capabilities", "metrics", "model_config", "train_config", "details", "versions"):
        table.add_row(key, json.dumps(data[key], default=str) if not isinstance(data[key], str) else data[key])
    for s in data["scores"][-3:]:
        table.add_row("score", json.dumps(s.get("metrics"), default=str))
    out.print(table)


@app.command()
def runs(model: Optional[str] = typer.Option(None, "--model"), limit: int = typer.Option(20, "--limit"), as_json: bool = typer.Option(False, "--json")):
    """List recent runs with model, dataset, epochs and best validation score."""
    found = api.list_runs(model=model)[:limit]
    if as_json:
        out.print_json(json.dumps([{**r.__dict__, "path": str(r.path)} for r in found]))
        return
    if not found:
        out.print("no runs yet (train one with: genkit train vae)")
        return
    table = Table(title="recent runs")
    for col in ("run", "model", "dataset", "epochs", "best val", "status"):
        table.add_column(col)
    for r in found:
        best = f"{r.monitor} {r.best:.3f}" if r.best is not None else "-"
        table.add_row(str(r.path), r.model, r.dataset, f"{r.epochs_done}/{r.epochs}", best, r.status)
    out.print(table)


@app.command()
def plugins(as_json: bool = typer.Option(False, "--json", help="print the report as JSON")):
    """List plugins, what each provides, and any that failed to load (GENKIT_PLUGINS narrows the set)."""
    report = api.list_plugins()
    if as_json:
        out.print_json(json.dumps(report))
        return
    table = Table(title="genkit plugins")
    for col in ("plugin", "package", "version", "provides", "status"):
        table.add_column(col)
    colours = {"ok": "green", "broken": "red", "disabled": "yellow", "not found": "red"}
    for p in report:
        provides = "\n".join(f"{k}: {', '.join(v)}" for k, v in p["provides"].items()) or "-"
        status = f"[{colours.get(p['status'], 'red')}]{p['status']}[/]"
        if p["error"]:
            status += f": {p['error']}"
        for warning in p.get("warnings", []):
            status += f"\n[yellow]warning[/yellow]: {warning}"
        table.add_row(p["name"], p["package"], p["version"], provides, status)
    out.print(table)


@app.command("new-plugin")
def new_plugin(
    name: str = typer.Argument(..., help="the model's name, e.g. my-ae (package genkit-my-ae)"),
    out_dir: Path = typer.Option(Path("."), "--out", help="directory to create the package in"),
):
    """Create a model-plugin package to start from: a working autoencoder with config and tests."""
    from .scaffold import new_plugin as scaffold

    root = scaffold(name, out_dir)
    out.print(f"created {root}\nnext: pip install -e {root} (or uv pip install -e {root}), then: genkit plugins; genkit train {name}; pytest {root}")


def _warn_broken_plugins(argv: list[str]) -> None:
    """One line per broken plugin on stderr, so a failed install is noticed while every command still runs."""
    from .plugins import PLUGINS_ENV, get_plugin_manager

    if argv[:1] == ["plugins"]:
        return
    for p in get_plugin_manager().broken():
        err.print(f"[yellow]warning:[/yellow] plugin '{p.name}' ({p.package}) failed to load: {p.error}; see `genkit plugins`, or set {PLUGINS_ENV} to skip it", highlight=False, soft_wrap=True)


def _progress() -> Progress:
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(), console=err, transient=True)


def _click_exceptions() -> tuple[type, type]:
    """Click's Abort and ClickException as typer raises them (typer 0.29 and later carry their own click)."""
    try:
        from typer._click import exceptions
    except ImportError:
        from click import exceptions
    return exceptions.Abort, exceptions.ClickException


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app, turning genkit's own errors into one line and exit code 1."""
    global _ARGV
    _ARGV = list(sys.argv[1:] if argv is None else argv)
    try:
        from .plugins import get_plugin_manager

        get_plugin_manager().register_commands(app)
        _warn_broken_plugins(_ARGV)
        app(args=list(_ARGV), standalone_mode=False)
    except GenkitError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)  # a message is text, not markup
        sys.exit(1)
    except KeyboardInterrupt:
        err.print("[red]aborted[/red]")
        sys.exit(130)
    except Exception as exc:
        abort, click_exception = _click_exceptions()
        if isinstance(exc, abort):
            err.print("[red]aborted[/red]")
            sys.exit(130)
        if isinstance(exc, click_exception):
            exc.show()
            sys.exit(exc.exit_code)
        raise
