"""Discovering plugins and collecting what they register.

Plugins are the modules named by the ``genkit`` entry-point group. Each one is
imported and asked for its registrations on its own, so a plugin that fails to
import, declares an incompatible hook version, or raises in a hook is reported
as broken while every other plugin still loads. ``GENKIT_PLUGINS`` narrows the
set: empty loads none, ``a,b`` loads only those entry points.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Callable

import pluggy

from . import hookspecs
from .errors import PluginError

ENTRY_POINT_GROUP = "genkit"
PLUGINS_ENV = "GENKIT_PLUGINS"

#: What each hook registers, keyed by the registry it fills.
HOOKS = {
    "models": "register_models",
    "evaluators": "register_evaluators",
    "datasets": "register_datasets",
    "samplers": "register_samplers",
}


@dataclass
class PluginInfo:
    """What ``genkit plugins`` reports for one plugin."""

    name: str
    package: str
    version: str
    status: str = "ok"  # "ok" or "broken"
    error: str | None = None
    provides: dict[str, list[str]] = field(default_factory=dict)
    hooks: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "package": self.package,
            "version": self.version,
            "status": self.status,
            "error": self.error,
            "provides": self.provides,
            "hooks": self.hooks,
        }


class Registry:
    """Names of one kind (models, datasets, ...) and the plugin that gave each.

    A name registered by two plugins is kept as a clash: asking for it is an
    error that names both packages, while every other name keeps working.
    """

    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, Any] = {}
        self._owner: dict[str, PluginInfo] = {}
        self._clashes: dict[str, list[PluginInfo]] = {}

    def add(self, name: str, item: Any, owner: PluginInfo) -> None:
        if not isinstance(name, str) or not name:
            raise PluginError(f"{owner.name}: a {self.kind} registration has no name")
        if name in self._items or name in self._clashes:
            first = self._clashes.get(name) or [self._owner.pop(name)]
            self._items.pop(name, None)
            self._clashes[name] = [*first, owner]
            return
        self._items[name] = item
        self._owner[name] = owner

    def get(self, name: str) -> Any:
        if name in self._clashes:
            packages = " and ".join(f"{p.package} ({p.name})" for p in self._clashes[name])
            raise PluginError(f"{self.kind[:-1]} '{name}' is registered by both {packages}; uninstall one of them")
        if name not in self._items:
            known = ", ".join(sorted(self._items)) or "none installed"
            raise PluginError(f"unknown {self.kind[:-1]} '{name}' (available: {known}); see `genkit plugins`")
        return self._items[name]

    def owner(self, name: str) -> PluginInfo:
        self.get(name)
        return self._owner[name]

    def names(self) -> list[str]:
        return sorted(self._items)

    def clashes(self) -> dict[str, list[str]]:
        return {n: [p.package for p in ps] for n, ps in self._clashes.items()}

    def __contains__(self, name: str) -> bool:
        return name in self._items


class PluginManager:
    """Loads plugins one by one and keeps the registries they fill."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
        self.pm.add_hookspecs(hookspecs)
        self.plugins: list[PluginInfo] = []
        self.registries = {kind: Registry(kind) for kind in HOOKS}

    # -- loading -----------------------------------------------------------
    def load_entry_points(self, allow: set[str] | None = None) -> None:
        """Import each ``genkit`` entry point and collect its registrations."""
        for ep in _entry_points():
            if allow is not None and ep.name not in allow:
                continue
            dist = getattr(ep, "dist", None)
            info = PluginInfo(
                name=ep.name,
                package=dist.metadata["Name"] if dist else ep.value.split(":")[0],
                version=dist.version if dist else "unknown",
            )
            try:
                module = ep.load()
            except Exception as exc:  # a broken plugin must not break genkit
                self._mark_broken(info, f"import failed: {type(exc).__name__}: {exc}")
                continue
            self.register_plugin(module, info)

    def register_plugin(self, plugin: object, info: PluginInfo | str) -> PluginInfo:
        """Register a module or object implementing genkit hooks (also used by tests)."""
        if isinstance(info, str):
            info = PluginInfo(name=info, package=info, version="local")
        self.plugins.append(info)
        problem = _version_problem(plugin)
        if problem:
            return self._mark_broken(info, problem)
        try:
            self.pm.register(plugin, name=info.name)
        except Exception as exc:
            return self._mark_broken(info, f"registration failed: {type(exc).__name__}: {exc}")
        info.hooks = sorted(h.name for h in self.pm.get_hookcallers(plugin) or [])
        others = [p for p in self.pm.get_plugins() if p is not plugin]
        staged: list[tuple[str, str, Any]] = []
        for kind, hook_name in HOOKS.items():
            if hook_name not in info.hooks:
                continue
            caller = self.pm.subset_hook_caller(hook_name, remove_plugins=others)
            collected: list[tuple[str, Any]] = []
            try:
                caller(register=_collector(collected))
            except Exception as exc:
                self.pm.unregister(plugin)
                return self._mark_broken(info, f"{hook_name} raised {type(exc).__name__}: {exc}")
            staged += [(kind, name, item) for name, item in collected]
        # Only a plugin whose every hook ran cleanly adds its names.
        for kind, name, item in staged:
            self.registries[kind].add(name, item, info)
            info.provides.setdefault(kind, []).append(name)
        return info

    def register_commands(self, cli: Any) -> None:
        """Let each working plugin add CLI commands; one that raises is marked broken."""
        for info in [p for p in self.plugins if p.status == "ok" and "register_commands" in p.hooks]:
            plugin = self.pm.get_plugin(info.name)
            others = [p for p in self.pm.get_plugins() if p is not plugin]
            try:
                self.pm.subset_hook_caller("register_commands", remove_plugins=others)(cli=cli)
            except Exception as exc:
                self._mark_broken(info, f"register_commands raised {type(exc).__name__}: {exc}")
            else:
                info.provides.setdefault("commands", []).append("(cli)")

    def unregister_plugin(self, name: str) -> None:
        """Remove a plugin and everything it registered (for tests)."""
        plugin = self.pm.get_plugin(name)
        if plugin is not None:
            self.pm.unregister(plugin)
        self.plugins = [p for p in self.plugins if p.name != name]
        fresh = {kind: Registry(kind) for kind in HOOKS}
        old, self.registries = self.registries, fresh
        for kind, reg in old.items():
            for n in reg.names():
                owner = reg._owner[n]
                if owner.name != name:
                    fresh[kind].add(n, reg._items[n], owner)

    def _mark_broken(self, info: PluginInfo, reason: str) -> PluginInfo:
        if info not in self.plugins:
            self.plugins.append(info)
        info.status, info.error, info.provides = "broken", reason, {}
        return info

    # -- lookups -----------------------------------------------------------
    def model(self, name: str):
        return self.registries["models"].get(name)

    def dataset(self, name: str):
        return self.registries["datasets"].get(name)

    def evaluator(self, name: str):
        return self.registries["evaluators"].get(name)

    def sampler(self, name: str):
        return self.registries["samplers"].get(name)

    def broken(self) -> list[PluginInfo]:
        return [p for p in self.plugins if p.status != "ok"]


def _collector(out: list[tuple[str, Any]]) -> Callable[..., None]:
    def register(item: Any, name: str | None = None) -> None:
        out.append((name or getattr(item, "name", None), item))

    return register


def _version_problem(plugin: object) -> str | None:
    declared = getattr(plugin, "GENKIT_HOOKS", None)
    if declared is None:
        return None
    ours = int(hookspecs.HOOK_SPEC_VERSION.split(".")[0])
    try:
        theirs = int(str(declared).split(".")[0])
    except ValueError:
        return f"declares an unreadable hook version {declared!r}"
    if theirs != ours:
        return f"written for genkit hook spec {declared}, this genkit provides {hookspecs.HOOK_SPEC_VERSION}"
    return None


def _entry_points():
    eps = metadata.entry_points()
    if hasattr(eps, "select"):
        return sorted(eps.select(group=ENTRY_POINT_GROUP), key=lambda e: e.name)
    return sorted(eps.get(ENTRY_POINT_GROUP, []), key=lambda e: e.name)  # Python < 3.10


def _allowed_from_env() -> set[str] | None:
    value = os.environ.get(PLUGINS_ENV)
    if value is None:
        return None
    return {v.strip() for v in value.split(",") if v.strip()}


_manager: PluginManager | None = None


def get_plugin_manager() -> PluginManager:
    """The process-wide plugin manager, loaded on first use (never at import time)."""
    global _manager
    if _manager is None:
        manager = PluginManager()
        from . import builtins

        manager.register_plugin(builtins, PluginInfo(name="genkit", package="genkit", version=_version()))
        manager.load_entry_points(_allowed_from_env())
        _manager = manager
    return _manager


def reset_plugin_manager() -> None:
    """Forget the loaded plugins, so the next lookup loads them afresh."""
    global _manager
    _manager = None


def _version() -> str:
    try:
        return metadata.version("genkit")
    except metadata.PackageNotFoundError:
        return "unknown"
