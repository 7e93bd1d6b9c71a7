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

import os
import sys
import warnings

import typer

from ..errors import GenkitError, GenkitNote
from . import shared, views
from .shared import COMMANDS, err

# Importing the command modules registers their commands, in the order `genkit --help` lists them.
# isort: off
from . import train_command, picture_commands, score_command, run_commands, author_commands  # noqa: F401
# isort: on

DEBUG_ENV = "GENKIT_DEBUG"
_debug = False  # set by --debug


def _root(
    debug: bool = typer.Option(
        False, "--debug", help=f"show the traceback of an unexpected error (or set {DEBUG_ENV}=1)"
    ),
):
    """genkit: train, sample and score deep generative models on images."""
    global _debug
    _debug = debug


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
    shared.SAMPLER.help = f"how to draw (default: the model's own sampler); installed: {', '.join(samplers) or 'none'}"
    shared.METRIC.help = (
        f"metric name; repeat for several (default: the model's); installed: {', '.join(metrics) or 'none'}"
    )


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
    global _debug
    shared.ARGV[:] = sys.argv[1:] if argv is None else argv
    argv = list(shared.ARGV)
    _debug = False
    try:
        from ..plugins import get_plugin_manager

        manager = get_plugin_manager()
        _describe_plugin_options(manager)
        cli = build_cli(manager)  # afresh on every call: a second main() in one process finds no clash
        _warn_broken_plugins(manager, argv)
        cli.main(args=argv, prog_name="genkit", standalone_mode=True)
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
