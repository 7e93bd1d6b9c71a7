"""The snapshot of the public contract and its check against the changelog.

:func:`entries` describes every public name of :mod:`genkit.contract` as one line (a
signature, a field, an attribute with its default); the committed snapshot
(``tests/contract/snapshot.txt``) holds those lines at a version, and :func:`problems`
says why the contract as it is does not match it: a change without a version bump, a
removal in a minor version, a version without a changelog entry or one without a
migration. ``python -m genkit.contract`` runs it.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
from pathlib import Path
from typing import Any

from . import CONTRACT_VERSION, EXPORTS, PLUGIN_DECLARATIONS, parse_version

#: Names whose value is a version: the snapshot records that they exist, not their value.
_VERSIONS = {"CONTRACT_VERSION", "HOOK_SPEC_VERSION"}

SNAPSHOT = Path("tests") / "contract" / "snapshot.txt"
CHANGELOG = Path("docs") / "plugins.md"
CHANGELOG_HEADING = "## 7. Contract changelog"


# -- the snapshot ----------------------------------------------------------------
def entries() -> dict[str, str]:
    """The public contract as ``{qualified name: declaration}``, one line each.

    Functions and methods give their signature, attributes their annotation and default,
    dataclass and pydantic fields their type and default, hooks their signature.
    """
    import genkit
    from genkit import hookspecs

    out: dict[str, str] = {}
    for name in PLUGIN_DECLARATIONS:
        out[f"plugin.{name}"] = "module attribute: a contract version"
    for name in sorted(n for n in dir(hookspecs) if n.startswith("register_")):
        out[f"hook.{name}"] = f"hook{inspect.signature(getattr(hookspecs, name))}"
    for name in sorted(EXPORTS):
        out.update(_describe(f"genkit.{name}", getattr(genkit, name), versioned=name in _VERSIONS))
    return out


def _describe(qualname: str, obj: Any, versioned: bool = False) -> dict[str, str]:
    if versioned:
        return {qualname: "version string"}
    if inspect.isclass(obj):
        return _describe_class(qualname, obj)
    if callable(obj):
        return {qualname: _signature(obj)}
    return {qualname: f"{type(obj).__name__} = {_stable(obj)}"}


def _describe_class(qualname: str, cls: type) -> dict[str, str]:
    bases = ", ".join(b.__name__ for b in cls.__bases__ if b is not object)
    out = {qualname: f"class({bases})" if bases else "class"}
    fields = _fields(cls)
    out.update({f"{qualname}.{k}": v for k, v in fields.items()})
    own = [c for c in cls.__mro__ if c.__module__.split(".")[0] == "genkit"]
    seen: set[str] = set(fields)
    for klass in own:
        names = list(vars(klass)) + list(vars(klass).get("__annotations__", {}))
        for member in names:
            if member in seen or (member.startswith("_") and member not in ("__init__", "__call__")):
                continue
            if member == "__init__" and (fields or getattr(klass, "_is_protocol", False)):
                continue  # a dataclass's __init__ is its fields; a protocol has none of its own
            if member == "model_config" and fields:
                continue  # pydantic's settings of a config class, not a member
            seen.add(member)
            out[f"{qualname}.{member}"] = _member(klass, member)
    return out


def _fields(cls: type) -> dict[str, str]:
    if dataclasses.is_dataclass(cls):
        found = {}
        for f in dataclasses.fields(cls):
            if f.default is not dataclasses.MISSING:
                default = f" = {_stable(f.default)}"
            elif f.default_factory is not dataclasses.MISSING:
                default = f" = {_stable(f.default_factory)}()"
            else:
                default = ""
            found[f.name] = f"field: {_annotation(f.type)}{default}"
        return found
    model_fields = getattr(cls, "model_fields", None)
    if isinstance(model_fields, dict) and model_fields:
        found = {}
        for name, info in model_fields.items():
            if info.is_required():
                default = ""
            elif info.default_factory is not None:
                default = f" = {_stable(info.default_factory)}()"
            else:
                default = f" = {_stable(info.default)}"
            found[name] = f"field: {_annotation(info.annotation)}{default}"
        return found
    return {}


def _member(klass: type, name: str) -> str:
    raw = vars(klass).get(name, inspect.Parameter.empty)
    annotation = vars(klass).get("__annotations__", {}).get(name)
    if isinstance(raw, property):
        return "property"
    if isinstance(raw, (staticmethod, classmethod)):
        return f"{type(raw).__name__}{_signature(raw.__func__)}"
    if inspect.isfunction(raw):
        return f"method{_signature(raw)}"
    kind = f"attribute: {_annotation(annotation)}" if annotation is not None else "attribute"
    return kind if raw is inspect.Parameter.empty else f"{kind} = {_stable(raw)}"


def _signature(obj: Any) -> str:
    try:
        return str(inspect.signature(obj))
    except (TypeError, ValueError):
        return "(...)"


def _annotation(annotation: Any) -> str:
    if isinstance(annotation, str):
        return annotation
    return inspect.formatannotation(annotation)


def _stable(value: Any) -> str:
    """A repr that is the same in every process (no memory addresses)."""
    if isinstance(value, (str, int, float, bool, type(None))):
        return repr(value)
    if isinstance(value, (tuple, list)):
        inner = ", ".join(_stable(v) for v in value)
        return f"({inner}{',' if len(value) == 1 else ''})" if isinstance(value, tuple) else f"[{inner}]"
    if isinstance(value, dict) and not value:
        return "{}"
    if inspect.isclass(value) or inspect.isfunction(value) or inspect.isbuiltin(value):
        return f"<{getattr(value, '__name__', type(value).__name__)}>"
    text = repr(value)
    return f"<{type(value).__name__}>" if " at 0x" in text else text


def render(version: str, items: dict[str, str]) -> str:
    lines = [
        "# The public contract of genkit: one line per public name (tests/test_contract.py).",
        "# Regenerate after a deliberate change: uv run python -m genkit.contract --update",
        f"version: {version}",
        *(f"{name}: {items[name]}" for name in sorted(items)),
    ]
    return "\n".join(lines) + "\n"


def parse(text: str) -> tuple[str, dict[str, str]]:
    version, items = "", {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, _, value = line.partition(": ")
        if name == "version":
            version = value.strip()
        else:
            items[name] = value
    return version, items


# -- the changelog -----------------------------------------------------------------
def changelog(text: str) -> dict[str, list[str]]:
    """The entries of the contract changelog in docs/plugins.md: ``{version: [entry, ...]}``.

    Each version is a ``### X.Y`` heading under :data:`CHANGELOG_HEADING`; each entry a
    ``- `` bullet (continued on indented lines).
    """
    start = text.find(CHANGELOG_HEADING)
    if start < 0:
        return {}
    body = text[start + len(CHANGELOG_HEADING) :]
    end = re.search(r"^## ", body, re.M)
    body = body[: end.start()] if end else body
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in body.splitlines():
        heading = re.match(r"^### (\d+\.\d+)\b", line)
        if heading:
            current = found.setdefault(heading[1], [])
        elif current is not None and line.startswith("- "):
            current.append(line[2:].strip())
        elif current is not None and current and line.startswith("  ") and line.strip():
            current[-1] += " " + line.strip()
    return found


# -- the check ---------------------------------------------------------------------
def problems(snapshot_text: str, current: dict[str, str], version: str, changelog_text: str) -> list[str]:
    """Why the contract as it is (``current`` at ``version``) does not match the committed
    snapshot and changelog; empty when it does."""
    found: list[str] = []
    recorded, pinned = parse(snapshot_text)
    log = changelog(changelog_text)
    entries_of_version = log.get(version, [])
    if not entries_of_version:
        found.append(
            f"the contract changelog ({CHANGELOG}, '{CHANGELOG_HEADING}') has no '### {version}' section with entries"
        )
    bare = [e for e in entries_of_version if "Migration:" not in e]
    if bare:
        found.append(f"changelog entries of {version} without a one-line 'Migration:': {bare[0][:80]}...")
    if pinned == current and recorded == version:
        return found
    added = sorted(set(current) - set(pinned))
    removed = sorted(set(pinned) - set(current))
    changed = sorted(k for k in set(current) & set(pinned) if current[k] != pinned[k])
    diff = "; ".join(
        part
        for part in (
            _listed("added", added),
            _listed("removed", removed),
            "changed " + ", ".join(f"{k} (was {pinned[k]}, now {current[k]})" for k in changed[:3]) if changed else "",
        )
        if part
    )
    try:
        ours, theirs = parse_version(version), parse_version(recorded)
    except ValueError as exc:
        return [*found, str(exc)]
    if ours == theirs:
        found.append(
            f"the public contract changed without a version bump ({diff}). Keep old forms working (deprecate, "
            "docs/plugins.md 'Compatibility'), bump CONTRACT_VERSION in src/genkit/contract/__init__.py (now "
            f"{version}), add a '### X.Y' entry with a 'Migration:' to the contract changelog in {CHANGELOG}, then "
            "run: uv run python -m genkit.contract --update"
        )
    elif ours < theirs:
        found.append(f"CONTRACT_VERSION {version} is older than the snapshot's {recorded}")
    else:
        if removed and ours[0] == theirs[0]:
            found.append(
                f"a minor version ({recorded} -> {version}) cannot remove public names ({_listed('removed', removed)}):"
                " keep them working with a deprecation warning until the next major version"
            )
        found.append(
            f"the snapshot is of contract {recorded} and genkit is at {version} ({diff or 'no signature changed'}); "
            "run: uv run python -m genkit.contract --update"
        )
    return found


def _listed(what: str, names: list[str]) -> str:
    if not names:
        return ""
    shown = ", ".join(names[:6]) + (f" and {len(names) - 6} more" if len(names) > 6 else "")
    return f"{what} {shown}"


def update(snapshot: Path, changelog_path: Path, version: str = CONTRACT_VERSION) -> list[str]:
    """Rewrite the snapshot for ``version``; refused (the reasons returned) when the change
    needs a version bump, a changelog entry or a major version first."""
    current = entries()
    old = snapshot.read_text() if snapshot.is_file() else render("0.0", {})
    blocking = [
        p
        for p in problems(old, current, version, changelog_path.read_text())
        if "--update" not in p or "without a version bump" in p
    ]
    if blocking:
        return blocking
    snapshot.parent.mkdir(parents=True, exist_ok=True)
    snapshot.write_text(render(version, current))
    return []
