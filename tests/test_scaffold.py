"""``genkit new-plugin``: the package it writes installs, passes its own tests, and works with every command.

The package is installed with ``uv pip install --target`` into a temporary
directory (on PYTHONPATH of the child process that runs its tests, on
``sys.path`` for the command-line checks), so the shared environment is never
changed and genkit finds the plugin only through its entry point.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from genkit.errors import GenkitError
from genkit.plugins import reset_plugin_manager
from genkit.scaffold import new_plugin, plugin_fields, render

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "plugins" / "genkit-ae"


def test_names_derived_from_the_plugin_name():
    assert plugin_fields("my-ae") == {"name": "my-ae", "dist": "genkit-my-ae", "module": "genkit_my_ae", "cls": "MyAe", "title": "My ae"}
    for bad in ("My", "1ae", "a_b", "a--b", "-a", ""):
        with pytest.raises(GenkitError, match="must be lowercase"):
            plugin_fields(bad)


def test_example_plugin_is_exactly_what_the_command_writes():
    files = render("ae")
    on_disk = {str(p.relative_to(EXAMPLE)): p.read_text() for p in EXAMPLE.rglob("*") if p.is_file() and "__pycache__" not in p.parts and ".egg-info" not in str(p)}
    assert on_disk == files


def test_command_refuses_to_overwrite(tmp_path, cli):
    assert cli("new-plugin", "my-ae", "--out", str(tmp_path)).code == 0
    assert (tmp_path / "genkit-my-ae" / "genkit_my_ae" / "model.py").is_file()
    code, _, err = cli("new-plugin", "my-ae", "--out", str(tmp_path))
    assert code == 1 and "already exists" in err


@pytest.fixture
def installed(tmp_path):
    """A fresh plugin package installed into a private site directory; returns (package dir, env)."""
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is needed to install the generated package")
    package = new_plugin("my-ae", tmp_path / "src")
    site = tmp_path / "site"
    subprocess.run([uv, "pip", "install", "--quiet", "--python", sys.executable, "--target", str(site), "--no-deps", str(package)], check=True, timeout=300)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))}
    env.pop("GENKIT_PLUGINS", None)
    return package, env, site


def test_generated_package_installs_and_its_tests_pass_unchanged(installed):
    package, env, _ = installed
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", str(package / "tests")], cwd=package, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "7 passed" in done.stdout


def test_generated_plugin_trains_samples_interpolates_and_checkpoints_through_the_cli(installed, tmp_path, bars_folder, monkeypatch, cli):
    package, _, site = installed
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    reset_plugin_manager()
    run = tmp_path / "run"

    def genkit(*args: str) -> str:
        code, out, err = cli(*args)
        assert code == 0, out[-2000:] + err[-2000:]
        return out

    plugins = {p["name"]: p for p in json.loads(genkit("plugins", "--json"))}
    assert plugins["my-ae"]["status"] == "ok" and plugins["my-ae"]["package"] == "genkit-my-ae"
    dataset = bars_folder(tmp_path / "bars")
    genkit("train", "--config", str(package / "configs" / "my-ae.toml"), "--dataset", dataset, "--epochs", "2", "--batch-size", "16", "--set", "model.hidden=64", "--out", str(run))
    assert (run / "checkpoints" / "last.safetensors").is_file() and (run / "checkpoints" / "best.safetensors").is_file()
    genkit("sample", str(run), "-n", "9")
    genkit("interpolate", str(run), "--steps", "3")
    assert (run / "samples.png").is_file() and (run / "interpolation.png").is_file()
    info = json.loads(genkit("info", str(run), "--json"))
    assert info["model"] == "my-ae" and "latent" in info["capabilities"] and "encoder" in info["capabilities"]
