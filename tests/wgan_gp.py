"""The WGAN-GP of docs/plugins.md, run exactly as the page prints it.

The page's ``<!-- example: wgan_gp -->`` block is executed as the module
``wgan_gp_doc`` and registered as the model ``wgan-gp``, so a test of it tests the
documentation.
"""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import genkit

DOC = Path(__file__).resolve().parents[1] / "docs" / "plugins.md"


def doc_example(name: str) -> str:
    found = re.search(rf"<!-- example: {name} -->\n```python\n(?P<body>.*?)```", DOC.read_text(), re.S)
    assert found, f"docs/plugins.md has no example '{name}'"
    return found["body"]


def load_module() -> types.ModuleType:
    if "wgan_gp_doc" not in sys.modules:
        module = types.ModuleType("wgan_gp_doc")
        exec(compile(doc_example("wgan_gp"), f"{DOC}:wgan_gp", "exec"), module.__dict__)
        sys.modules["wgan_gp_doc"] = module
    return sys.modules["wgan_gp_doc"]


class _Hooks:
    @genkit.hookimpl
    def register_models(self, register):
        register(
            genkit.ModelSpec(
                name="wgan-gp",
                config="wgan_gp_doc:WGANGPConfig",
                build="wgan_gp_doc:WGANGP",
                train_defaults={"lr": 1e-4, "batch_size": 64},
            )
        )


def register() -> types.ModuleType:
    """Registers ``wgan-gp`` in this process; returns the docs' module."""
    module = load_module()
    genkit.register_plugin(_Hooks(), "wgan-gp")
    return module
