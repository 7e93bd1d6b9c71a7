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
from genkit.scaffold import KINDS, new_plugin, plugin_fields, render

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "plugins" / "genkit-ae"


def test_names_derived_from_the_plugin_name():
    fields = plugin_fields("my-ae")
    assert {k: fields[k] for k in ("name", "dist", "module", "cls", "title", "kind")} == {
        "name": "my-ae",
        "dist": "genkit-my-ae",
        "module": "genkit_my_ae",
        "cls": "MyAe",
        "title": "My ae",
        "kind": "latent",
    }
    chosen = plugin_fields("pix", package="acme-pixels", kind="sampler")
    assert chosen["dist"] == "acme-pixels" and chosen["module"] == "acme_pixels"
    for bad in ("My", "1ae", "a_b", "a--b", "-a", ""):
        with pytest.raises(GenkitError, match="must be lowercase"):
            plugin_fields(bad)
    with pytest.raises(GenkitError, match="package name 'Acme_X'"):
        plugin_fields("ae", package="Acme_X")
    with pytest.raises(GenkitError, match="unknown plugin kind 'gan'"):
        plugin_fields("ae", kind="gan")


@pytest.mark.parametrize("kind", KINDS)
def test_hook_modules_import_only_genkit(kind):
    files = render("x", kind=kind)
    hook = files["genkit_x/__init__.py"]
    imports = {line.split()[1] for line in hook.splitlines() if line.startswith(("import ", "from "))}
    assert imports == {"genkit"}
    assert '"genkit_x.model:X"' in hook and "genkit_x.model:XConfig" in hook


def test_example_plugin_is_exactly_what_the_command_writes():
    files = render("ae")
    on_disk = {
        str(p.relative_to(EXAMPLE)): p.read_text()
        for p in EXAMPLE.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and ".egg-info" not in str(p)
    }
    assert on_disk == files


def test_command_refuses_to_overwrite(tmp_path, cli):
    assert cli("new-plugin", "my-ae", "--out", str(tmp_path)).code == 0
    assert (tmp_path / "genkit-my-ae" / "genkit_my_ae" / "model.py").is_file()
    assert cli("new-plugin", "pix", "--out", str(tmp_path), "--package", "acme-pix", "--kind", "sampler").code == 0
    assert "PixSampler" in (tmp_path / "acme-pix" / "acme_pix" / "model.py").read_text()
    code, _, err = cli("new-plugin", "my-ae", "--out", str(tmp_path))
    assert code == 1 and "already exists" in err


#: Plugin name and expected test count of each kind's generated package.
GENERATED = {
    "latent": ("my-ae", 8),
    "likelihood": ("my-pixels", 5),
    "sampler": ("my-fvsbn", 6),
    "multi-update": ("my-wgan", 4),
}


@pytest.fixture(scope="module")
def installed_all(tmp_path_factory):
    """One package of each kind, installed together (one install: that is the slow part) into a
    private site directory; returns ({kind: package dir}, env, site)."""
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is needed to install the generated packages")
    root = tmp_path_factory.mktemp("scaffold")
    packages = {kind: new_plugin(name, root / "src", kind=kind) for kind, (name, _) in GENERATED.items()}
    site = root / "site"
    install = [uv, "pip", "install", "--quiet", "--python", sys.executable, "--target", str(site), "--no-deps"]
    subprocess.run([*install, *map(str, packages.values())], check=True, timeout=300)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))}
    env.pop("GENKIT_PLUGINS", None)
    return packages, env, site


def test_generated_packages_install_and_their_tests_pass_unchanged(installed_all):
    packages, env, _ = installed_all
    # One pytest process for the four packages: starting one (torch, genkit) is much of the cost.
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-rA",
            *[str(p / "tests") for p in packages.values()],
        ],
        cwd=packages["latent"].parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    for kind, (name, count) in GENERATED.items():
        module = plugin_fields(name)["module"]
        lines = done.stdout.splitlines()
        passed = [line for line in lines if line.startswith("PASSED") and f"test_{module}.py::" in line]
        assert len(passed) == count, (kind, passed)
    assert f"{sum(c for _, c in GENERATED.values())} passed" in done.stdout and "skipped" not in done.stdout


def test_generated_plugin_trains_samples_interpolates_and_checkpoints_through_the_cli(
    installed_all, tmp_path, bars_folder, monkeypatch, cli
):
    packages, _, site = installed_all
    package = packages["latent"]
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
    genkit(
        "train",
        "--config",
        str(package / "configs" / "my-ae.toml"),
        "--dataset",
        dataset,
        "--epochs",
        "2",
        "--batch-size",
        "16",
        "--set",
        "model.hidden=64",
        "--out",
        str(run),
    )
    assert (run / "checkpoints" / "last.safetensors").is_file() and (run / "checkpoints" / "best.safetensors").is_file()
    genkit("sample", str(run), "-n", "9")
    genkit("interpolate", str(run), "--steps", "3")
    assert (run / "samples.png").is_file() and (run / "interpolation.png").is_file()
    info = json.loads(genkit("info", str(run), "--json"))
    assert info["model"] == "my-ae" and "latent" in info["capabilities"] and "encoder" in info["capabilities"]


def test_generated_sampler_plugin_samples_through_its_own_sampler_from_the_cli(
    installed_all, tmp_path, bars_folder, monkeypatch, cli
):
    _, _, site = installed_all
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    reset_plugin_manager()
    run = tmp_path / "run"
    dataset = bars_folder(tmp_path / "bars")
    train = ("train", "my-fvsbn", "--dataset", dataset, "--epochs", "1", "--batch-size", "16", "--out", str(run))
    for args in (train, ("sample", str(run), "-n", "16")):
        code, _, err = cli(*args)
        assert code == 0, err[-2000:]
    assert (run / "samples_end.png").is_file() and (run / "samples.png").is_file()
