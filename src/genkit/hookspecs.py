"""The plugin contract: the hooks a genkit plugin may implement.

A plugin is a module registered under the ``genkit`` entry-point group that
implements any of these hooks with ``@genkit.hookimpl``. Each hook receives a
``register`` callback, so genkit decides how names, aliases and clashes are
handled. pluggy lets an implementation take fewer arguments than the spec, so
new arguments can be added without breaking older plugins.
"""

import pluggy

from .contract import CONTRACT_VERSION

#: The hooks are part of the plugin contract and share its version (see :mod:`genkit.contract`);
#: this is that version's older name. A plugin declares the version it is written for as
#: ``GENKIT_CONTRACT = "1.2"`` (or, the older name, ``GENKIT_HOOKS``) at module level.
HOOK_SPEC_VERSION = CONTRACT_VERSION

hookspec = pluggy.HookspecMarker("genkit")
hookimpl = pluggy.HookimplMarker("genkit")


@hookspec
def register_models(register):
    """Register model families: ``register(ModelSpec(...))``."""


@hookspec
def register_evaluators(register):
    """Register metrics: ``register(evaluator)`` with an :class:`genkit.Evaluator`."""


@hookspec
def register_datasets(register):
    """Register datasets: ``register(DatasetSpec(...))``."""


@hookspec
def register_samplers(register):
    """Register sampling methods: ``register(sampler)`` with a :class:`genkit.Sampler`."""


@hookspec
def register_loggers(register):
    """Register training loggers: ``register(LoggerSpec(name, logger="module:Class"))`` (since 1.1)."""


@hookspec
def register_commands(register, cli):
    """Add subcommands to the ``genkit`` command line: ``register(command, name=None)`` with a
    function (typer reads its parameters and docstring) or a ``typer.Typer`` (a group of
    commands, ``name`` required) (since 1.4). ``cli``, the older form, is a typer app of this
    plugin's own to add commands to with ``@cli.command()``; both reach the same command line.

    Use this for what only your plugin does (training a judge, a special figure);
    commands every model shares belong to genkit itself, and a name already taken is not added.
    """
