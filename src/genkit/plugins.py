"""Discovering plugins and collecting what they register.

Plugins are the modules named by the ``genkit`` entry-point group. Each one is
imported and asked for its registrations on its own, so a plugin that fails to
import, declares an incompatible hook version, or raises in a hook is reported
as broken while every other plugin still loads. ``GENKIT_PLUGINS`` narrows the
set: empty loads none, ``a,b`` loads only those entry points (the others are
listed as disabled, so ``genkit plugins`` still shows what is installed).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import pluggy

from . import builtins, deprecation, deprecation_log, hookspecs
from .contract import CONTRACT_VERSION, PLUGIN_DECLARATIONS, parse_version
from .errors import PluginError
from .registrations import Registry, check_registrations, collector
from .spec import EvaluatorSpec, SamplerSpec

ENTRY_POINT_GROUP = "genkit"
PLUGINS_ENV = "GENKIT_PLUGINS"

#: What each hook registers, keyed by the registry it fills.
HOOKS = {
    "models": "register_models",
    "evaluators": "register_evaluators",
    "datasets": "register_datasets",
    "samplers": "register_samplers",
    "loggers": "register_loggers",
}


@dataclass
class PluginInfo:
    """What ``genkit plugins`` reports for one plugin."""

    name: str
    package: str
    version: str
    #: Top-level module of the plugin's code, to tell which plugin raised an error.
    module: str | None = None
    status: str = "ok"  # "ok", "broken", "disabled" (by GENKIT_PLUGINS) or "not found"
    error: str | None = None
    provides: dict[str, list[str]] = field(default_factory=dict)
    hooks: list[str] = field(default_factory=list)
    #: Problems that leave the plugin loaded: a name clash, a newer hook version.
    warnings: list[str] = field(default_factory=list)
    #: Seconds spent importing the plugin's hook module (what it adds to every command's start-up).
    import_seconds: float | None = None
    #: One line per registered name: its description.
    descriptions: dict[str, dict[str, str]] = field(default_factory=dict)
    #: The contract version the plugin declares (``GENKIT_CONTRACT``), or "unversioned".
    contract: str = "unversioned"
    #: Deprecated forms this version of the plugin was seen using (in any command so far).
    deprecations: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "package": self.package,
            "version": self.version,
            "status": self.status,
            "error": self.error,
            "provides": self.provides,
            "hooks": self.hooks,
            "warnings": self.warnings,
            "import_seconds": None if self.import_seconds is None else round(self.import_seconds, 4),
            "descriptions": self.descriptions,
            "contract": self.contract,
            "deprecations": self.deprecations,
        }


class PluginManager:
    """Loads plugins one by one and keeps the registries they fill."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
        self.pm.add_hookspecs(hookspecs)
        self.plugins: list[PluginInfo] = []
        self.registries = {kind: Registry(kind) for kind in HOOKS}
        self._instances: dict[tuple[str, str], Any] = {}
        global _newest
        _newest = self  # deprecated uses are noted on the plugins of the newest manager

    # -- loading -----------------------------------------------------------
    def load_entry_points(self, allow: set[str] | None = None) -> None:
        """Import each ``genkit`` entry point and collect its registrations.

        Args:
            allow: entry-point names to load (None: all). The others are listed
                as disabled; a name in ``allow`` that is not installed is listed
                as not found.
        """
        seen: set[str] = set()
        for ep in _entry_points():
            seen.add(ep.name)
            dist = getattr(ep, "dist", None)
            info = PluginInfo(
                name=ep.name,
                package=dist.metadata["Name"] if dist else ep.value.split(":")[0],
                version=dist.version if dist else "unknown",
                module=ep.value.split(":")[0].split(".")[0],
            )
            if allow is not None and ep.name not in allow:
                info.status, info.error = "disabled", f"not named in {PLUGINS_ENV}"
                self.plugins.append(info)
                continue
            started = time.perf_counter()
            with _real_interrupts() as interrupts:
                try:
                    module = ep.load()
                except (Exception, SystemExit, KeyboardInterrupt) as exc:  # a broken plugin must not break genkit
                    interrupts.reraise_if_real(exc)
                    self._mark_broken(info, f"import failed: {_describe(exc)}")
                    continue
                finally:
                    info.import_seconds = time.perf_counter() - started
                self.register_plugin(module, info)
        for name in sorted((allow or set()) - seen):
            self.plugins.append(
                PluginInfo(
                    name=name,
                    package="-",
                    version="-",
                    status="not found",
                    error=f"named in {PLUGINS_ENV} but no installed package provides it",
                )
            )

    def register_plugin(self, plugin: object, info: PluginInfo | str) -> PluginInfo:
        """Register a module or object implementing genkit hooks (also used by tests)."""
        if isinstance(info, str):
            info = PluginInfo(name=info, package=info, version="local")
        if info.module is None:
            info.module = str(getattr(plugin, "__name__", None) or type(plugin).__module__).split(".")[0]
        self.plugins.append(info)
        if info.version not in ("local", "-"):
            info.deprecations = deprecation_log.seen(info.package, info.version)
        for module, message in deprecation.SEEN:  # warned while the plugin was imported
            if module.split(".")[0] == info.module:
                self._deprecated_use(module, message)
        problem = _version_problem(plugin, info)
        if problem:
            return self._mark_broken(info, problem)
        try:
            self.pm.register(plugin, name=info.name)
        except Exception as exc:
            return self._mark_broken(info, f"registration failed: {_describe(exc)}")
        info.hooks = sorted(h.name for h in self.pm.get_hookcallers(plugin) or [])
        unknown = [h for h in info.hooks if h not in _KNOWN_HOOKS]
        if unknown:
            info.warnings.append(f"this genkit (contract {CONTRACT_VERSION}) has no hook {', '.join(unknown)}; ignored")
        others = [p for p in self.pm.get_plugins() if p is not plugin]
        staged: list[tuple[str, str, Any]] = []
        for kind, hook_name in HOOKS.items():
            if hook_name not in info.hooks:
                continue
            caller = self.pm.subset_hook_caller(hook_name, remove_plugins=others)
            collected: list[tuple[str, Any]] = []
            try:
                with _real_interrupts() as interrupts:
                    try:
                        caller(register=collector(collected))
                    except KeyboardInterrupt as exc:
                        interrupts.reraise_if_real(exc)
                        raise PluginError(f"{hook_name} raised KeyboardInterrupt") from None
                check_registrations(kind, collected)
            except (Exception, SystemExit) as exc:
                self.pm.unregister(plugin)
                return self._mark_broken(info, f"{hook_name}: {_describe(exc)}")
            staged += [(kind, name, item) for name, item in collected]
        # Only a plugin whose every hook ran cleanly adds its names.
        for kind, name, item in staged:
            self.registries[kind].add(name, item, info)
            info.provides.setdefault(kind, []).append(name)
            description = getattr(item, "description", "") or ""
            if description:
                info.descriptions.setdefault(kind, {})[name] = str(description)
        return info

    def implementing(self, hook: str) -> list[PluginInfo]:
        """The working plugins that implement ``hook``, in load order."""
        return [p for p in self.plugins if p.status == "ok" and hook in p.hooks]

    def call_hook(self, info: PluginInfo, hook: str, **kwargs: Any) -> bool:
        """Call one plugin's ``hook`` (pluggy passes it the arguments it names); a plugin whose hook
        raises is marked broken, and False says so."""
        plugin = self.pm.get_plugin(info.name)
        others = [p for p in self.pm.get_plugins() if p is not plugin]
        try:
            with _real_interrupts() as interrupts:
                try:
                    self.pm.subset_hook_caller(hook, remove_plugins=others)(**kwargs)
                except KeyboardInterrupt as exc:
                    interrupts.reraise_if_real(exc)
                    raise PluginError(f"{hook} raised KeyboardInterrupt") from None
        except (Exception, SystemExit) as exc:  # a broken plugin must not break genkit
            self._mark_broken(info, f"{hook}: {_describe(exc)}")
            return False
        return True

    def _deprecated_use(self, module: str, message: str) -> None:
        """A deprecated form used by ``module``'s code: noted on its plugin and remembered."""
        top = module.split(".")[0]
        for info in self.plugins:
            if info.module == top and info.name != "genkit":
                if message not in info.deprecations:
                    info.deprecations.append(message)
                    if info.version not in ("local", "-"):
                        deprecation_log.record(info.package, info.version, message)
                return

    def _mark_broken(self, info: PluginInfo, reason: str) -> PluginInfo:
        if info not in self.plugins:
            self.plugins.append(info)
        info.status, info.error, info.provides = "broken", reason, {}
        return info

    # -- lookups -----------------------------------------------------------
    def model(self, name: str):
        return self._lookup("models", name)

    def dataset(self, name: str):
        return self._lookup("datasets", name)

    def evaluator(self, name: str):
        """The evaluator called ``name``, created on first use from its registration."""
        return self._created("evaluators", name)

    def sampler(self, name: str):
        """The sampler called ``name``, created on first use from its registration."""
        return self._created("samplers", name)

    def sampler_models(self, name: str) -> tuple[str, ...]:
        """The models the sampler called ``name`` says it draws (its ``SamplerSpec.models``), read
        without importing it; empty: every model its ``unsupported_reason`` accepts."""
        item = self._lookup("samplers", name)
        return tuple(item.models) if isinstance(item, SamplerSpec) else ()

    def _created(self, kind: str, name: str):
        key = (kind, name)
        if key not in self._instances:
            item = self._lookup(kind, name)
            if isinstance(item, (EvaluatorSpec, SamplerSpec)):
                made = item.create()
                required = "evaluate" if kind == "evaluators" else "sample"
                if not callable(getattr(made, required, None)):
                    owner = self.registries[kind].owner(name)
                    raise PluginError(
                        f"{kind[:-1]} '{name}' from {owner.package} has no {required}() method (subclass "
                        f"genkit.{'Evaluator' if kind == 'evaluators' else 'Sampler'})"
                    )
                if not getattr(made, "name", None):
                    made.name = name
                item = made
            self._instances[key] = item
        return self._instances[key]

    def logger(self, name: str):
        return self._lookup("loggers", name)

    def _lookup(self, kind: str, name: str):
        registry = self.registries[kind]
        try:
            return registry.get(name)
        except PluginError as exc:
            broken = self.broken()
            if not broken or name in registry.clashes():
                raise
            # The name may belong to a plugin that failed to load: say which did.
            names = ", ".join(f"{p.name} ({p.package})" for p in broken)
            raise PluginError(f"{exc}; plugins that failed to load: {names}") from None

    def broken(self) -> list[PluginInfo]:
        return [p for p in self.plugins if p.status == "broken"]


_KNOWN_HOOKS = {name for name in dir(hookspecs) if name.startswith("register_")}
_newest: PluginManager | None = None


def _on_deprecated_use(module: str, message: str) -> None:
    if _newest is not None:
        _newest._deprecated_use(module, message)


deprecation.add_listener(_on_deprecated_use)


class _Interrupts:
    real = False

    def reraise_if_real(self, exc: BaseException) -> None:
        """A KeyboardInterrupt from a real Ctrl-C stops genkit; one a plugin raised itself only breaks it."""
        if isinstance(exc, KeyboardInterrupt) and self.real:
            raise exc


@contextmanager
def _real_interrupts():
    """Tell a real Ctrl-C (its signal arrives here) from a plugin raising KeyboardInterrupt."""
    interrupts = _Interrupts()
    if threading.current_thread() is not threading.main_thread():
        yield interrupts
        return

    def handler(signum, frame):
        interrupts.real = True
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield interrupts
    finally:
        signal.signal(signal.SIGINT, previous)


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    if isinstance(exc, PluginError):
        return first
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def _version_problem(plugin: object, info: PluginInfo) -> str | None:
    """Why the contract version a plugin declares rules it out, if it does (and note it on ``info``).

    ``GENKIT_CONTRACT`` (or its older name ``GENKIT_HOOKS``) must have this genkit's major
    version; a newer minor version loads with a warning, since what came after this
    genkit is simply never used.
    """
    name = next((n for n in PLUGIN_DECLARATIONS if getattr(plugin, n, None) is not None), None)
    if name is None:
        return None
    declared = getattr(plugin, name)
    try:
        parts = parse_version(declared)
    except ValueError:
        return f'declares an unreadable contract version {name} = {declared!r} (write it as "MAJOR.MINOR")'
    info.contract = ".".join(map(str, parts))
    ours = parse_version(CONTRACT_VERSION)
    if parts[0] != ours[0]:
        return (
            f"written for genkit contract {info.contract}, this genkit provides contract {CONTRACT_VERSION} (install "
            "a matching version of one or the other)"
        )
    if parts > ours[: len(parts)]:
        info.warnings.append(
            f"written for contract {info.contract}, newer than this genkit's {CONTRACT_VERSION}; upgrade genkit for "
            "its newer features"
        )
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
        manager.register_plugin(builtins, PluginInfo(name="genkit", package="genkit", version=_version()))
        manager.load_entry_points(_allowed_from_env())
        _manager = manager
    return _manager


def register_plugin(plugin: object, name: str) -> None:
    """Register an object or module implementing genkit hooks in this process, as if it
    were an installed plugin called ``name`` (tests, notebooks, benchmarks)."""
    get_plugin_manager().register_plugin(plugin, name)


def reset_plugin_manager() -> None:
    """Forget the loaded plugins, so the next lookup loads them afresh."""
    global _manager
    _manager = None


def _version() -> str:
    try:
        return metadata.version("genkit")
    except metadata.PackageNotFoundError:
        return "unknown"


def __getattr__(name: str):
    # find_classifier lived here before it moved to genkit.metrics (evaluation, not plugin loading)
    if name == "find_classifier":
        import genkit  # its lazy re-export, so the plugin loader does not depend on evaluation

        deprecation.warn(
            "genkit.plugins.find_classifier",
            "use genkit.find_classifier (defined in genkit.metrics)",
            since="1.5",
            removed_in="2.0",
        )
        return genkit.find_classifier
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
