"""genkit's import structure: no cycles, and each layer imports only the layers below it.

Read from the source with ``ast``, imports inside functions included (they hide
cycles that only bite at run time); ``if TYPE_CHECKING:`` blocks are left out,
since they never run.

Layers, bottom up (docs/architecture.md):
- contract: what a plugin implements and calls (no genkit machinery);
- machinery: generic code working on any model through the contract;
- front ends: the Python API and the command line.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "genkit"

CONTRACT = {
    "errors",
    "spec",
    "hookspecs",
    "model",
    "capabilities",
    "evaluation",
    "sampling",
    "optim",
    "estimators",
    "ood",
    "maths",
    "artifacts",
    "files",
    "contract",
    "deprecation",
}
FRONT = {"api", "cli", "explore", "__main__"}


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(module: str) -> str:
    top = module.split(".")[0]
    if top in CONTRACT:
        return "contract"
    if top in FRONT:
        return "front"
    return "machinery"


def _runtime_nodes(tree: ast.AST):
    """Every node except those under ``if TYPE_CHECKING:``."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            stack.extend(node.orelse)
            continue
        yield node
        stack.extend(ast.iter_child_nodes(node))


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """genkit modules that ``path`` imports (resolved against the modules that exist)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in _runtime_nodes(ast.parse(path.read_text())):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name.removeprefix("genkit.") for a in node.names if a.name.startswith("genkit.")]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".") if package else []
                base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                stem = ".".join([*base, *([node.module] if node.module else [])])
            elif node.module and (node.module == "genkit" or node.module.startswith("genkit.")):
                stem = node.module.removeprefix("genkit").lstrip(".")
            else:
                continue
            submodules = [f"{stem}.{a.name}".strip(".") for a in node.names]
            # ``from pkg import submodule`` depends on the submodule; ``from pkg import name`` on pkg.
            targets = [t if t in modules else stem for t in submodules]
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def graph() -> dict[str, set[str]]:
    paths = [p for p in SRC.rglob("*.py") if "scaffold_templates" not in p.parts]
    modules = {module_name(p) for p in paths} - {""}
    # The package root only re-exports names lazily; it is nobody's dependency.
    return {module_name(p): imports_of(p, modules) - {""} for p in paths if module_name(p)}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles():
    assert cycles(graph()) == []


def test_the_contract_imports_no_machinery_or_front_end():
    upward = {
        (module, target)
        for module, targets in graph().items()
        if layer(module) == "contract"
        for target in targets
        if layer(target) != "contract"
    }
    assert upward == set()


def test_machinery_imports_no_front_end():
    upward = {(m, t) for m, ts in graph().items() if layer(m) == "machinery" for t in ts if layer(t) == "front"}
    assert upward == set()


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_architecture_doc_names_every_module_in_its_layer():
    import re

    text = (SRC.parents[1] / "docs" / "architecture.md").read_text()
    section = text.split("## Layers", 1)[1].split("\n## ", 1)[0]
    listed = {
        kind: {
            name.rstrip("/")
            for name in re.findall(r"`([a-z_]+/?)`", re.search(rf"\*\*{kind}\*\* \((.*?)\)", section, re.S).group(1))
        }
        for kind in ("Contract", "Machinery", "Front ends")
    }
    tops = {module_name(p).split(".")[0] for p in SRC.rglob("*.py") if "scaffold_templates" not in p.parts} - {""}
    assert listed["Contract"] == CONTRACT
    assert listed["Front ends"] == FRONT - {"__main__"}
    assert listed["Machinery"] == tops - CONTRACT - FRONT
