"""The ``genkit`` command line: a thin typer layer over :mod:`genkit.api`.

Start-up is kept cheap (``genkit --help`` and shell completion run this module
on every call): the API, torch, scipy and matplotlib are imported inside the
commands that compute or draw, never at module level.

How each kind of failure reaches the user:

- a usage error (unknown command or option, bad value, missing argument): the
  usage line and one error line from typer, exit code 2;
- a :class:`GenkitError` (bad config value, missing run, broken checkpoint...):
  one red line, exit code 1;
- any other exception: one red line naming the plugin whose code raised it (or
  genkit itself), exit code 1; ``--debug`` or ``GENKIT_DEBUG=1`` shows the traceback.
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from ..errors import ConfigError, GenkitError, GenkitNote
from . import views

out = Console()
err = Console(stderr=True)
_ARGV: list[str] = []  # the command line main() was given (``--nproc`` relaunches it under torchrun)
DEBUG_ENV = "GENKIT_DEBUG"
_debug = False  # set by --debug

#: genkit's own commands, in the order ``genkit --help`` lists them: (name or None, function).
COMMANDS: list[tuple[str | None, Callable[..., Any]]] = []


def command(name: str | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a function as one of genkit's commands: every :func:`build_app` adds it."""

    def add(function: Callable[..., Any]) -> Callable[..., Any]:
        COMMANDS.append((name, function))
        return function

    return add


TARGET_HELP = "a run directory, a checkpoint file, or a model name (its most recent run)"
DEVICE_HELP = "auto (CUDA if present, else CPU), cpu, cuda or cuda:N"
# Options shared by several commands. Their help lists what installed plugins provide,
# filled in by main() once plugins are loaded.
SAMPLER = typer.Option(None, "--sampler", help="how to draw (default: the model's own sampler)")
METRIC = typer.Option([], "--metric", "-m", help="metric name; repeat for several (default: the model's)")
STEPS = typer.Option(
    None, "--steps", min=1, help="solver steps, for samplers that take them (diffusion, flow matching)"
)
GUIDANCE = typer.Option(
    None, "--guidance", min=0.0, help="classifier-free guidance weight, for conditional samplers that take it"
)
TEMPERATURE = typer.Option(
    None, "--temperature", "-t", min=0.0, help="scale of the prior's standard deviation (prior sampler; default 1)"
)


def _root(
    debug: bool = typer.Option(
        False, "--debug", help=f"show the traceback of an unexpected error (or set {DEBUG_ENV}=1)"
    ),
):
    """genkit: train, sample and score deep generative models on images."""
    global _debug
    _debug = debug


@command()
def train(
    model: str | None = typer.Argument(None, help="model name (see `genkit plugins`); may come from --config"),
    config: Path | None = typer.Option(None, "--config", help="TOML file with [model] and [train] tables"),
    dataset: str | None = typer.Option(
        None, "--dataset", help="mnist, fashion-mnist, folder:PATH, or a plugin's dataset"
    ),
    data_dir: str | None = typer.Option(None, "--data-dir", help="directory holding the dataset files"),
    epochs: int | None = typer.Option(None, "--epochs"),
    batch_size: int | None = typer.Option(None, "--batch-size"),
    lr: float | None = typer.Option(None, "--lr"),
    device: str | None = typer.Option(None, "--device", help=DEVICE_HELP),
    seed: int | None = typer.Option(None, "--seed"),
    out_dir: Path | None = typer.Option(None, "--out", help="run directory (default runs/MODEL-TIMESTAMP)"),
    resume: str | None = typer.Option(None, "--resume", help="continue this run directory or checkpoint"),
    set_: list[str] = typer.Option(
        [], "--set", help="override any config value: model.latent_dim=2, train.val_size=5000"
    ),
    precision: str | None = typer.Option(
        None, "--precision", help="fp32, bf16, fp16 or auto (fp16 and auto's mixed precision need CUDA)"
    ),
    compile_: bool | None = typer.Option(
        None, "--compile/--no-compile", help="run the objectives through torch.compile"
    ),
    nproc: int | None = typer.Option(
        None,
        "--nproc",
        min=1,
        help="train with N processes on this machine (launches torchrun; one per GPU, or gloo on CPU)",
    ),
    log: list[str] = typer.Option(
        [], "--log", help="also log to this logger, e.g. tensorboard (RUN/tensorboard/); repeat for several"
    ),
):
    """Train a model; writes a run directory with curves, sample grids and checkpoints."""
    if nproc is not None and nproc > 1:
        from ..launch import launch_torchrun

        raise typer.Exit(launch_torchrun(nproc, _ARGV))
    from .. import api

    overrides = {
        "train.dataset": dataset,
        "train.data_dir": data_dir,
        "train.epochs": epochs,
        "train.batch_size": batch_size,
        "train.lr": lr,
        "train.device": device,
        "train.seed": seed,
        "train.precision": precision,
        "train.compile": compile_,
        "train.log": log or None,
    }
    result = api.train(model, config=config, overrides=overrides, sets=set_, resume=resume, out=out_dir)
    last = result.metrics[-1] if result.metrics else {}
    if int(os.environ.get("RANK", "0")) != 0:
        return  # under torchrun, rank 0 reports for the job
    out.print(
        f"[green]done[/green]: {result.run.path} ({len(result.metrics)} epochs; final val "
        f"{json.dumps(last.get('val', {}))})"
    )


@command()
def sample(
    target: str = typer.Argument(..., help=TARGET_HELP),
    n: int = typer.Option(25, "-n", min=1, help="number of samples"),
    sampler: str | None = SAMPLER,
    steps: int | None = STEPS,
    guidance: float | None = GUIDANCE,
    temperature: float | None = TEMPERATURE,
    label: int | None = typer.Option(None, "--label", help="class to draw (label-conditional models)"),
    seed: int = typer.Option(0, "--seed"),
    out_file: Path | None = typer.Option(None, "--out", help="PNG to write (default RUN/samples.png)"),
    device: str = typer.Option("auto", "--device", help=DEVICE_HELP),
):
    """Draw samples from a trained model as a grid."""
    from .. import api

    with _progress() as progress:
        task = progress.add_task("sampling", total=None)
        pic = api.sample(
            target,
            n,
            temperature=temperature,
            steps=steps,
            guidance=guidance,
            seed=seed,
            label=label,
            sampler=sampler,
            out=out_file,
            device=device,
            progress=lambda done, total: progress.update(task, completed=done, total=total),
        )
    out.print(f"wrote {pic.path}")


@command()
def interpolate(
    target: str = typer.Argument(..., help=TARGET_HELP),
    steps: int = typer.Option(7, "--steps", min=1, help="images between the two ends"),
    method: str = typer.Option("both", "--method", help="linear, spherical or both"),
    from_class: int | None = typer.Option(None, "--from-class"),
    to_class: int | None = typer.Option(None, "--to-class"),
    seed: int = typer.Option(0, "--seed"),
    data_dir: str | None = typer.Option(None, "--data-dir"),
    out_file: Path | None = typer.Option(None, "--out", help="PNG to write (default RUN/interpolation.png)"),
    device: str = typer.Option("auto", "--device", help=DEVICE_HELP),
):
    """Decode a path between two latent points of different classes."""
    from .. import api

    pic = api.interpolate(
        target,
        steps,
        method=method,
        from_class=from_class,
        to_class=to_class,
        seed=seed,
        out=out_file,
        device=device,
        data_dir=data_dir,
    )
    for note in pic.notes:
        out.print(f"note: {note}", highlight=False)
    out.print(f"wrote {pic.path}")


@command()
def manifold(
    target: str = typer.Argument(..., help=TARGET_HELP),
    side: int = typer.Option(20, "--side", min=2, help="grid points per axis"),
    out_file: Path | None = typer.Option(None, "--out", help="PNG to write (default RUN/manifold.png)"),
    device: str = typer.Option("auto", "--device", help=DEVICE_HELP),
):
    """Decode a grid over a 2-D latent space into one image."""
    from .. import api

    pic = api.manifold(target, side, out=out_file, device=device)
    out.print(f"wrote {pic.path}")


@command()
def score(
    target: str = typer.Argument(..., help=TARGET_HELP),
    metric: list[str] = METRIC,
    samples: int | None = typer.Option(
        None, "--samples", "-k", min=1, help="importance or dequantization samples per image"
    ),
    dataset: str | None = typer.Option(None, "--dataset", help="score on another dataset's test split"),
    data_dir: str | None = typer.Option(None, "--data-dir"),
    limit: int | None = typer.Option(None, "--limit", min=1, help="score only the first N test images"),
    seed: int = typer.Option(
        0,
        "--seed",
        help="seed of every evaluator's randomness (binarization, latent noise): the same seed gives the same figures",
    ),
    sampler: str | None = SAMPLER,
    steps: int | None = STEPS,
    guidance: float | None = GUIDANCE,
    temperature: float | None = TEMPERATURE,
    ood: str | None = typer.Option(
        None, "--ood", help="outlier dataset: bpd histograms of both test splits, their means and the AUROC"
    ),
    reference: str | None = typer.Option(
        None,
        "--reference",
        help="what sample metrics that take one (inception-fid...) compare with instead of the test split: a "
        "dataset (its test split) or folder:PATH (every image in it)",
    ),
    as_json: bool = typer.Option(False, "--json", help="print the metrics as JSON"),
    device: str = typer.Option("auto", "--device", help=DEVICE_HELP),
):
    """Score a trained model on a test split (likelihood, bound, sample quality...)."""
    from .. import api

    options = {"steps": steps, "guidance": guidance, "temperature": temperature}
    with _progress() as progress:

        def start(name: str, total: int):
            task = progress.add_task(f"scoring {name}", total=total)
            return lambda k: progress.update(task, advance=k)

        if ood:
            if metric and metric != ["bpd"]:
                raise ConfigError("--ood scores by bits per dimension of the model's data; leave out --metric")
            given = [
                f"--{k}" for k, v in {"sampler": sampler, "reference": reference, **options}.items() if v is not None
            ]
            if given:
                raise ConfigError(f"--ood draws no samples; leave out {', '.join(given)}")
            report = api.score_ood(
                target,
                ood,
                dataset=dataset,
                samples=samples,
                data_dir=data_dir,
                limit=limit,
                seed=seed,
                device=device,
                progress=start,
            )
            return _print_ood(report, as_json)
        report = api.score(
            target,
            metric or None,
            samples=samples,
            dataset=dataset,
            data_dir=data_dir,
            limit=limit,
            seed=seed,
            device=device,
            sampler=sampler,
            sampler_options=options,
            reference=reference,
            progress=start,
        )
    if as_json:
        out.print_json(views.score_json(report))
        return
    out.print(views.score_table(report))
    for note in report.notes():
        out.print(note)


def _print_ood(report, as_json: bool) -> None:
    if as_json:
        out.print_json(views.ood_json(report))
        return
    out.print(views.ood_table(report))
    out.print(f"AUROC (higher {report.unit} = outlier): {report.auroc:.4f}")
    if report.plot is not None:
        out.print(f"wrote {report.plot}")
    for note in report.notes:
        out.print(note)


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


@command()
def plugins(
    as_json: bool = typer.Option(False, "--json", help="print the report as JSON"),
    timing: bool = typer.Option(False, "--timing", help="show how long each plugin's hook module takes to import"),
):
    """List plugins, what each provides, and any that failed to load (GENKIT_PLUGINS narrows the set)."""
    from ..plugins import get_plugin_manager

    report = [p.as_dict() for p in get_plugin_manager().plugins]
    if as_json:
        out.print_json(json.dumps(report))
        return
    out.print(views.plugins_table(report, timing))
    for line in views.plugin_problems(report):
        out.print(line, highlight=False, soft_wrap=True)
    if timing:
        out.print(
            "A hook module that imports torch (or other heavy libraries) at module level slows every genkit command; "
            "name models and metrics by 'module:attribute' paths instead (docs/plugins.md).",
            highlight=False,
        )


@command("new-plugin")
def new_plugin(
    name: str = typer.Argument(..., help="the model's name, e.g. my-ae (package genkit-my-ae)"),
    out_dir: Path = typer.Option(Path("."), "--out", help="directory to create the package in"),
    package: str | None = typer.Option(
        None, "--package", help="distribution name (default genkit-NAME); its module is the name with _ for -"
    ),
    kind: str = typer.Option(
        "latent",
        "--kind",
        help="latent: an autoencoder with a Gaussian over its codes (prior sampler); likelihood: independent "
        "256-level pixels scored by nll and bpd; sampler: an autoregressive model with no latent space and "
        "its own sampler; multi-update: a WGAN-GP, its critic stepped on fresh batches before each generator step",
    ),
):
    """Create a model-plugin package to start from: a working model with config and tests."""
    from ..scaffold import new_plugin as scaffold

    root = scaffold(name, out_dir, package=package, kind=kind)
    out.print(
        f"created {root}\nnext: pip install -e {root} (or uv pip install -e {root}), then: genkit plugins; genkit "
        f"train {name}; pytest {root}"
    )


def _progress():
    return views.progress(err)


def build_app() -> typer.Typer:
    """A typer app with genkit's own commands (the plugins' are added by :func:`build_cli`)."""
    app = typer.Typer(
        help="genkit: train, sample and score deep generative models on images.",
        rich_markup_mode=None,  # plain help and plain usage errors: the usage line, then one error line
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["--help", "-h"]},
    )
    app.callback()(_root)
    for name, function in COMMANDS:
        app.command(name)(function)
    return app


def build_cli(manager):
    """The whole command line as a click group: genkit's commands, then each working plugin's
    (:func:`genkit.cli.plugin_commands.add_plugin_commands`)."""
    from .plugin_commands import add_plugin_commands

    group = typer.main.get_command(build_app())
    add_plugin_commands(group, manager)
    return group


def _describe_plugin_options(manager) -> None:
    """Put what the installed plugins provide into the help of the options that choose among them."""
    samplers = [
        name + (f" ({', '.join(models)} only)" if (models := manager.sampler_models(name)) else "")
        for name in manager.registries["samplers"].names()
    ]
    metrics = manager.registries["evaluators"].names()
    SAMPLER.help = f"how to draw (default: the model's own sampler); installed: {', '.join(samplers) or 'none'}"
    METRIC.help = f"metric name; repeat for several (default: the model's); installed: {', '.join(metrics) or 'none'}"


def _warn_broken_plugins(manager, argv: list[str]) -> None:
    """One line per broken plugin on stderr, so a failed install is noticed while every command still runs."""
    from ..plugins import PLUGINS_ENV

    if argv[:1] == ["plugins"] or any(a in ("-h", "--help") for a in argv) or "_GENKIT_COMPLETE" in os.environ:
        return
    for p in manager.broken():
        err.print(
            f"[yellow]warning:[/yellow] plugin '{p.name}' ({p.package}) failed to load: {p.error}; see `genkit "
            f"plugins`, or set {PLUGINS_ENV} to skip it",
            highlight=False,
            soft_wrap=True,
        )


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app; every failure ends as one line (see the module docstring)."""
    with warnings.catch_warnings():
        _warnings_as_lines()
        _main(argv)


def _warnings_as_lines() -> None:
    """genkit's own warnings become one yellow line on stderr each: a :class:`GenkitNote` (a
    setting kept or changed) as ``note:``, a plugin's use of a deprecated form as ``deprecated:``
    (each once per command); any other warning shows as Python shows it."""
    from ..deprecation import GenkitDeprecationWarning

    shown = warnings.showwarning
    labels = {GenkitNote: "note", GenkitDeprecationWarning: "deprecated"}

    def show(message, category, filename, lineno, file=None, line=None):
        label = next((name for kind, name in labels.items() if issubclass(category, kind)), None)
        if label is None:
            return shown(message, category, filename, lineno, file, line)
        from rich.markup import escape

        err.print(f"[yellow]{label}:[/yellow] {escape(str(message))}", highlight=False, soft_wrap=True)

    for kind in labels:
        warnings.simplefilter("always", kind)  # a deprecation says itself once per process already
    warnings.showwarning = show


def _main(argv: list[str] | None) -> None:
    global _ARGV, _debug
    _ARGV = list(sys.argv[1:] if argv is None else argv)
    _debug = False
    try:
        from ..plugins import get_plugin_manager

        manager = get_plugin_manager()
        _describe_plugin_options(manager)
        cli = build_cli(manager)  # afresh on every call: a second main() in one process finds no clash
        _warn_broken_plugins(manager, _ARGV)
        cli.main(args=list(_ARGV), prog_name="genkit", standalone_mode=True)
    except SystemExit as exc:  # typer ends every call with one; a successful one just returns
        if exc.code not in (0, None):
            raise
    except GenkitError as exc:
        from rich.markup import escape

        err.print(
            f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True
        )  # a message is text, not markup
        sys.exit(1)
    except KeyboardInterrupt:
        err.print("[red]aborted[/red]")
        sys.exit(130)
    except Exception as exc:
        if _debug or os.environ.get(DEBUG_ENV, "").strip() not in ("", "0"):
            raise
        first = (str(exc).strip().splitlines() or [""])[0]
        err.print(
            f"[red]error:[/red] {views.blame(exc)} raised {type(exc).__name__}"
            + (f": {first}" if first else "")
            + f" (run with --debug or {DEBUG_ENV}=1 for the traceback)",
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(1)
