"""docs/plugins.md's minimal plugin, taken from the page as written, works with every command.

The files marked ``<!-- file: PATH -->`` are written to a temporary package,
installed with ``uv pip install --target`` into a private directory put on
``sys.path``, and driven through the ``genkit`` command line (found, like any
installed plugin, through its entry point).
"""

from __future__ import annotations

import importlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from genkit.plugins import reset_plugin_manager

DOC = Path(__file__).resolve().parents[1] / "docs" / "plugins.md"
FILE_BLOCK = re.compile(r"<!-- file: (?P<path>\S+) -->\n```\w*\n(?P<body>.*?)```", re.S)


def doc_files() -> dict[str, str]:
    return {m["path"]: m["body"] for m in FILE_BLOCK.finditer(DOC.read_text())}


def test_doc_names_its_example_files():
    files = doc_files()
    assert set(files) == {"pyproject.toml", "genkit_minivae/__init__.py", "genkit_minivae/model.py"}
    # the hook module is the lazy form: it imports only genkit and names the model by its path
    hook = files["genkit_minivae/__init__.py"]
    assert {line.split()[1] for line in hook.splitlines() if line.startswith(("import ", "from "))} == {"genkit"}
    assert '"genkit_minivae.model:MiniVAE"' in hook


def test_doc_example_trains_samples_interpolates_and_checkpoints(tmp_path, bars_folder, monkeypatch, cli):
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is needed to install the example package")
    package = tmp_path / "genkit-minivae"
    for rel, text in doc_files().items():
        (package / rel).parent.mkdir(parents=True, exist_ok=True)
        (package / rel).write_text(text)
    site = tmp_path / "site"
    subprocess.run(
        [uv, "pip", "install", "--quiet", "--python", sys.executable, "--target", str(site), "--no-deps", str(package)],
        check=True,
        timeout=300,
    )
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    reset_plugin_manager()
    dataset = bars_folder(tmp_path / "bars")
    run = tmp_path / "run"

    def genkit(*args: str, ok: bool = True):
        done = cli(*args)
        assert (done.code == 0) == ok, done.out[-2000:] + done.err[-2000:]
        return done

    plugins = {p["name"]: p for p in json.loads(genkit("plugins", "--json").out)}
    assert plugins["minivae"]["status"] == "ok" and plugins["minivae"]["provides"] == {"models": ["minivae"]}
    genkit(
        "train",
        "minivae",
        "--dataset",
        dataset,
        "--epochs",
        "2",
        "--batch-size",
        "16",
        "--set",
        "model.latent_dim=2",
        "--out",
        str(run),
    )
    assert (run / "checkpoints" / "last.safetensors").is_file() and (run / "checkpoints" / "best.safetensors").is_file()
    genkit("sample", str(run), "-n", "8")
    genkit("interpolate", str(run), "--steps", "3")
    genkit("manifold", str(run), "--side", "4")
    for png in ("samples.png", "interpolation.png", "manifold.png", "curves.png"):
        assert (run / png).is_file(), png
    info = json.loads(genkit("info", str(run), "--json").out)
    assert {"latent", "encoder"} <= set(info["capabilities"]) and info["data"]["shape"] == [1, 12, 12]
    # a capability the model lacks is one line, as the page says
    refused = genkit("score", str(run), "-m", "elbo", ok=False)
    assert "no evidence lower bound" in refused.err and len(refused.err.strip().splitlines()) == 1
