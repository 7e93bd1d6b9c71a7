"""``genkit new-plugin NAME``: write a working model-plugin package to start from.

The package is what docs/plugins.md describes: a pyproject with the ``genkit``
entry point, a small real model (an MLP autoencoder with a Gaussian fitted to
its latent codes), its pydantic settings, a TOML config and tests that pass
once the package is installed. The files come from ``scaffold_templates/``
with ``${name}``-style fields filled in.
"""

from __future__ import annotations

import re
from pathlib import Path
from string import Template

from .errors import GenkitError

TEMPLATES = Path(__file__).parent / "scaffold_templates"
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")

#: Template file -> path in the package ({module} and {name} filled in).
FILES = {
    "pyproject.toml.tmpl": "pyproject.toml",
    "README.md.tmpl": "README.md",
    "init.py.tmpl": "{module}/__init__.py",
    "model.py.tmpl": "{module}/model.py",
    "config.toml.tmpl": "configs/{name}.toml",
    "conftest.py.tmpl": "tests/conftest.py",
    "test_plugin.py.tmpl": "tests/test_{module}.py",
}


def plugin_fields(name: str) -> dict[str, str]:
    """The names derived from a plugin name: ``my-ae`` -> dist ``genkit-my-ae``, module ``genkit_my_ae``, class ``MyAe``."""
    if not NAME_PATTERN.match(name):
        raise GenkitError(f"plugin name '{name}' must be lowercase letters and digits, words joined by '-' (for example: my-ae)")
    words = name.split("-")
    return {
        "name": name,
        "dist": f"genkit-{name}",
        "module": "genkit_" + "_".join(words),
        "cls": "".join(w.capitalize() for w in words),
        "title": " ".join(words).capitalize(),
    }


def render(name: str) -> dict[str, str]:
    """Relative path -> file text of the package for plugin ``name``."""
    fields = plugin_fields(name)
    return {
        target.format(**fields): Template((TEMPLATES / template).read_text()).substitute(fields)
        for template, target in FILES.items()
    }


def new_plugin(name: str, out: str | Path = ".") -> Path:
    """Write the package for plugin ``name`` to ``OUT/genkit-NAME`` and return that directory.

    Args:
        name: the model's name (what ``genkit train NAME`` takes) and the entry point's.
        out: the directory to create the package in; the package directory must not exist yet.
    """
    files = render(name)
    root = Path(out) / plugin_fields(name)["dist"]
    if root.exists():
        raise GenkitError(f"{root} already exists; choose another name or --out directory")
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root
