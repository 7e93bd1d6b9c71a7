"""The plugin contract: the hooks a genkit plugin may implement.

A plugin is a module registered under the ``genkit`` entry-point group that
implements any of these hooks with ``@genkit.hookimpl``. Each hook receives a
``register`` callback, so genkit decides how names, aliases and clashes are
handled. pluggy lets an implementation take fewer arguments than the spec, so
new arguments can be added without breaking older plugins.
"""

import pluggy

#: Version of this hook specification. Bumped on additions (minor) and on
#: incompatible changes (major); a plugin may declare the major version it was
#: written for as ``GENKIT_HOOKS = 1`` at module level.
HOOK_SPEC_VERSION = "1.1"

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
def register_commands(cli):
    """Add subcommands to the ``genkit`` command line: ``cli`` is its typer app.

    Use this for what only your plugin does (training a judge, a special figure);
    commands every model shares belong to genkit itself.
    """
