"""What genkit's commands share: the consoles, the list of commands and its decorator, the help
texts and options several commands take."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer
from rich.console import Console

from . import views

out = Console()
err = Console(stderr=True)
ARGV: list[str] = []  # the command line main() was given (``--nproc`` relaunches it under torchrun)

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


def progress():
    """The progress bars of a command that computes (on stderr, so stdout stays the result)."""
    return views.progress(err)
