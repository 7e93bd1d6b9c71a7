"""What plugins register: the checks each registration must pass at load time, and the registry
of one kind (models, datasets, samplers, evaluators, loggers) that keeps the plugin behind each
name and the names two plugins both claim."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from .errors import PluginError
from .spec import DatasetSpec, EvaluatorSpec, LoggerSpec, ModelSpec, SamplerSpec, is_ref


class Owner(Protocol):
    """The plugin a registration came from (:class:`genkit.plugins.PluginInfo`)."""

    name: str
    package: str
    warnings: list[str]


class Registry:
    """Names of one kind (models, datasets, ...) and the plugin that gave each.

    A name registered by two plugins is kept as a clash: asking for it is an
    error that names both packages, while every other name keeps working.
    """

    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, Any] = {}
        self._owner: dict[str, Owner] = {}
        self._clashes: dict[str, list[Owner]] = {}

    def add(self, name: str, item: Any, owner: Owner) -> None:
        if not isinstance(name, str) or not name:
            raise PluginError(f"{owner.name}: a {self.kind} registration has no name")
        if name in self._items or name in self._clashes:
            first = self._clashes.get(name) or [self._owner.pop(name)]
            self._items.pop(name, None)
            self._clashes[name] = [*first, owner]
            for p in self._clashes[name]:
                others = " and ".join(o.package for o in self._clashes[name] if o is not p)
                p.warnings = [w for w in p.warnings if not w.startswith(f"{self.kind[:-1]} '{name}' ")]
                p.warnings.append(
                    f"{self.kind[:-1]} '{name}' is also registered by {others}; it cannot be used until one is "
                    "uninstalled"
                )
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

    def owner(self, name: str) -> Owner:
        self.get(name)
        return self._owner[name]

    def names(self) -> list[str]:
        return sorted(self._items)

    def clashes(self) -> dict[str, list[str]]:
        return {n: [p.package for p in ps] for n, ps in self._clashes.items()}

    def __contains__(self, name: str) -> bool:
        return name in self._items


def check_registrations(kind: str, collected: list[tuple[str, Any]]) -> None:
    """Raise if a registration is not what its kind must be: checked at load time,
    so a mistake shows in ``genkit plugins`` rather than deep inside a command.
    Lazy ``"module:attribute"`` paths are checked for their form only; they are
    imported when a command first uses them."""
    seen: set[str] = set()
    for name, item in collected:
        if not isinstance(name, str) or not name.strip() or name != name.strip() or ":" in name:
            raise PluginError(
                f"a {kind[:-1]} registration has an invalid name {name!r} (give a non-empty name without ':' or "
                "surrounding spaces)"
            )
        if name in seen:
            raise PluginError(f"registers {kind[:-1]} '{name}' twice")
        seen.add(name)
        if kind == "models" and not (
            isinstance(item, ModelSpec)
            and _class_or_ref(item.config)
            and _callable_or_ref(item.build)
            and (item.accepts is None or _callable_or_ref(item.accepts))
        ):
            raise PluginError(
                f"model '{name}' must be registered as genkit.ModelSpec(name, config=<pydantic class or "
                "'module:Class'>, build=<callable or 'module:attr'>)"
            )
        if kind == "datasets" and not (isinstance(item, DatasetSpec) and _callable_or_ref(item.load)):
            raise PluginError(
                f"dataset '{name}' must be registered as genkit.DatasetSpec(name, load=<callable or 'module:attr'>)"
            )
        if kind == "samplers" and not (
            (isinstance(item, SamplerSpec) and _callable_or_ref(item.sampler))
            or callable(getattr(item, "sample", None))
        ):
            raise PluginError(
                f"sampler '{name}' must be registered as genkit.SamplerSpec(name, sampler='module:Class') or be a "
                "genkit.Sampler"
            )
        if (
            kind == "samplers"
            and isinstance(item, SamplerSpec)
            and not (isinstance(item.models, (tuple, list)) and all(isinstance(m, str) and m for m in item.models))
        ):
            raise PluginError(
                f"sampler '{name}': SamplerSpec.models must be a tuple of model names, like ('diffusion',)"
            )
        if kind == "evaluators" and not (
            (
                isinstance(item, EvaluatorSpec)
                and (_callable_or_ref(item.evaluator) or hasattr(item.evaluator, "evaluate"))
            )
            or (callable(getattr(item, "evaluate", None)) and callable(getattr(item, "unsupported_reason", None)))
        ):
            raise PluginError(
                f"evaluator '{name}' must be registered as genkit.EvaluatorSpec(name, evaluator='module:Class') or "
                "be a genkit.Evaluator"
            )
        if kind == "loggers" and not (isinstance(item, LoggerSpec) and _callable_or_ref(item.logger)):
            raise PluginError(f"logger '{name}' must be registered as genkit.LoggerSpec(name, logger='module:Class')")


def _callable_or_ref(value: Any) -> bool:
    return callable(value) or is_ref(value)


def _class_or_ref(value: Any) -> bool:
    return isinstance(value, type) or is_ref(value)


def collector(out: list[tuple[str, Any]]) -> Callable[..., None]:
    """The ``register`` function a plugin's hook is called with: each call adds (name, item) to ``out``."""

    def register(item: Any, name: str | None = None) -> None:
        out.append((name or getattr(item, "name", None), item))

    return register
