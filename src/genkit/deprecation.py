"""Deprecations: an old form keeps working, with a warning that names its replacement.

What the contract deprecates keeps working until the next major contract version, and
for at least one minor version: each use warns once per process with a
:class:`GenkitDeprecationWarning` that says what to write instead and the version that
removes the old form. Listeners (the plugin manager) hear of every deprecated use, so
``genkit plugins`` can show which plugin still relies on what.
"""

from __future__ import annotations

import inspect
import types
import warnings
from collections.abc import Callable
from typing import Any


class GenkitDeprecationWarning(DeprecationWarning):
    """A plugin (or a caller) uses a form of the contract that a later major version removes."""


#: (module of the code that used it, message) of each deprecated use seen in this process.
SEEN: dict[tuple[str, str], None] = {}
_listeners: list[Callable[[str, str], None]] = []


def add_listener(listener: Callable[[str, str], None]) -> None:
    """Call ``listener(module, message)`` for each deprecated use, the first time it is seen."""
    if listener not in _listeners:
        _listeners.append(listener)


def warn(what: str, instead: str, since: str, removed_in: str, user: Any = None, stacklevel: int = 3) -> None:
    """Warn (once per process and user) that ``what`` is deprecated.

    Args:
        what: the old form, as a plugin author would recognise it.
        instead: what to write instead (one short clause).
        since: the contract version that deprecated it.
        removed_in: the contract version that removes it.
        user: the object (a model, a class, a module) whose code uses the old form; its
            module names the plugin in the message and in ``genkit plugins``.
    """
    module = owner_module(user)
    message = f"{what} is deprecated since genkit contract {since} and will stop working in {removed_in}; {instead}"
    key = (module, message)
    if key in SEEN:
        return
    SEEN[key] = None
    for listener in list(_listeners):
        listener(module, message)
    warnings.warn(f"{f'{module}: ' if module else ''}{message}", GenkitDeprecationWarning, stacklevel=stacklevel)


def owner_module(user: Any) -> str:
    """The module whose code ``user`` is: a module, a class, a function, or an instance's class."""
    if user is None:
        return ""
    if isinstance(user, str):
        return user
    if isinstance(user, types.ModuleType):
        return user.__name__
    if isinstance(user, type) or inspect.isfunction(user) or inspect.ismethod(user):
        return user.__module__
    return type(user).__module__
