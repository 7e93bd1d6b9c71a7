"""``genkit new-plugin NAME``: write a working model-plugin package to start from.

The package is what docs/plugins.md describes: a pyproject with the ``genkit``
entry point, a hook module that imports only ``genkit`` (the model is named by
its ``"module:attribute"`` path), a small real model, its pydantic settings, a
TOML config and tests that pass once the package is installed. Four kinds:

- ``latent``: an MLP autoencoder with a Gaussian fitted to its latent codes
  (samples through genkit's ``prior`` sampler, interpolates, draws a manifold);
- ``likelihood``: independent 256-level pixels, an exact likelihood scored by
  ``nll`` and ``bpd`` (no sampling: the smallest likelihood model there is);
- ``sampler``: a fully visible sigmoid belief network (an autoregressive model
  over binarized pixels) with an exact likelihood and no latent space, which
  registers its own ancestral sampler and names it as its ``default_sampler``;
- ``multi-update``: a WGAN-GP, two optimizers in two updates: a critic stepped
  several times per step, each on a fresh batch, with a gradient penalty that
  validates with autograd on, then the generator on the critic's carried fakes.

The files come from ``scaffold_templates/common`` and ``scaffold_templates/KIND``
with ``${name}``-style fields filled in.
"""

from __future__ import annotations

import re
from pathlib import Path
from string import Template

from .errors import GenkitError

TEMPLATES = Path(__file__).parent / "scaffold_templates"
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
KINDS = ("latent", "likelihood", "sampler", "multi-update")

#: Template file (under common/ or KIND/) -> path in the package ({module} and {name} filled in).
FILES = {
    "common/pyproject.toml.tmpl": "pyproject.toml",
    "common/conftest.py.tmpl": "tests/conftest.py",
    "{kind}/README.md.tmpl": "README.md",
    "{kind}/init.py.tmpl": "{module}/__init__.py",
    "{kind}/model.py.tmpl": "{module}/model.py",
    "{kind}/config.toml.tmpl": "configs/{name}.toml",
    "{kind}/test_plugin.py.tmpl": "tests/test_{module}.py",
}

#: One line per kind, for the pyproject description and ``genkit new-plugin --help``.
SUMMARIES = {
    "latent": "a plain autoencoder whose latent codes are modelled by a Gaussian",
    "likelihood": "independent 256-level pixels with an exact likelihood",
    "sampler": "an autoregressive model over binarized pixels with its own ancestral sampler",
    "multi-update": "a Wasserstein GAN with gradient penalty, its critic stepped on fresh batches",
}


def plugin_fields(name: str, package: str | None = None, kind: str = "latent") -> dict[str, str]:
    """The names derived from a plugin name.

    ``my-ae`` -> dist ``genkit-my-ae``, module ``genkit_my_ae``, class ``MyAe``.

    ``package`` chooses the distribution name instead (its module is that name with '_' for '-').
    """
    if not NAME_PATTERN.match(name):
        raise GenkitError(
            f"plugin name '{name}' must be lowercase letters and digits, words joined by '-' (for example: my-ae)"
        )
    if package is not None and not NAME_PATTERN.match(package):
        raise GenkitError(
            f"package name '{package}' must be lowercase letters and digits, words joined by '-' "
            "(for example: acme-genkit-ae)"
        )
    if kind not in KINDS:
        raise GenkitError(f"unknown plugin kind '{kind}' (use {', '.join(KINDS)})")
    words = name.split("-")
    dist = package or f"genkit-{name}"
    return {
        "name": name,
        "dist": dist,
        "module": dist.replace("-", "_"),
        "cls": "".join(w.capitalize() for w in words),
        "title": " ".join(words).capitalize(),
        "kind": kind,
        "summary": SUMMARIES[kind],
    }


def render(name: str, package: str | None = None, kind: str = "latent") -> dict[str, str]:
    """Relative path -> file text of the package for plugin ``name``."""
    fields = plugin_fields(name, package, kind)
    return {
        target.format(**fields): Template((TEMPLATES / template.format(kind=kind)).read_text()).substitute(fields)
        for template, target in FILES.items()
    }


def new_plugin(name: str, out: str | Path = ".", package: str | None = None, kind: str = "latent") -> Path:
    """Write the package for plugin ``name`` to ``OUT/DIST`` and return that directory.

    Args:
        name: the model's name (what ``genkit train NAME`` takes) and the entry point's.
        out: the directory to create the package in; the package directory must not exist yet.
        package: the distribution name (default ``genkit-NAME``).
        kind: ``latent``, ``likelihood``, ``sampler`` or ``multi-update`` (see the module docstring).
    """
    files = render(name, package, kind)
    root = Path(out) / plugin_fields(name, package, kind)["dist"]
    if root.exists():
        raise GenkitError(f"{root} already exists; choose another name or --out directory")
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root
