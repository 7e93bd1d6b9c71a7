"""The commands for plugin authors: `genkit plugins` (what is installed, and what failed) and `new-plugin`."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from . import views
from .shared import command, out


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
