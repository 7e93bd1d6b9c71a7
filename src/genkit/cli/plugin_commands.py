"""The commands plugins add (``genkit judge``, ``genkit complete``), gathered afresh for each command line.

Each working plugin's ``register_commands`` hook is called with a ``register`` callback
and, for the older form, a typer app of its own; what it registers becomes click commands
that join genkit's group under their names. A name already taken (one of genkit's
commands, or an earlier plugin's) is not added and shows in ``genkit plugins`` as a
warning: plugins add commands, they never replace them. Nothing here edits typer's
internals or a shared app, so building the command line twice in one process (a second
``genkit.cli.main()`` in a notebook or a test) gives the same result.
"""

from __future__ import annotations

from typing import Any

import click
import typer

from ..errors import PluginError
from ..plugins import PluginInfo, PluginManager

HOOK = "register_commands"
_TAKEN = "command '{}' is already taken; not added"


def add_plugin_commands(group: click.Group, manager: PluginManager) -> None:
    """Add each working plugin's commands to ``group`` (a plugin whose hook raises is marked broken)."""
    for info in manager.implementing(HOOK):
        own = _plugin_app()

        def register(command: Any, name: str | None = None, own: typer.Typer = own) -> None:
            _add(own, command, name)

        if manager.call_hook(info, HOOK, register=register, cli=own):
            _join(group, info, _commands_of(own))


def _plugin_app() -> typer.Typer:
    """What a plugin's commands are gathered in: plain help and usage errors, like genkit's own."""
    return typer.Typer(rich_markup_mode=None, pretty_exceptions_enable=False)


def _add(app: typer.Typer, command: Any, name: str | None) -> None:
    if isinstance(command, typer.Typer):
        if not name:
            raise PluginError("register(typer_app, name=...) needs the name of the command group")
        app.add_typer(command, name=name)
    elif callable(command):
        app.command(name)(command)
    else:
        raise PluginError(f"register() takes a function or a typer.Typer, not {type(command).__name__}")


def _commands_of(app: typer.Typer) -> dict[str, click.Command]:
    """The click commands a plugin's app holds, by the names typer gives them."""
    try:
        return dict(typer.main.get_group(app).commands)
    except RuntimeError:  # typer's answer for an app with no commands
        return {}


def _join(group: click.Group, info: PluginInfo, commands: dict[str, click.Command]) -> None:
    """Add the commands whose names are free; say in ``genkit plugins`` which were and which were not."""
    added = []
    info.warnings = [w for w in info.warnings if not w.startswith("command '")]
    for name, command in commands.items():
        if name in group.commands:
            info.warnings.append(_TAKEN.format(name))
        else:
            group.add_command(command, name)
            added.append(name)
    if added:
        info.provides["commands"] = added
    else:
        info.provides.pop("commands", None)
