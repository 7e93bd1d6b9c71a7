"""Plugins written against earlier contracts keep working: the frozen plugins in
tests/frozen_plugins/ (never edited, see its README) are installed as packages and driven
through the ``genkit`` console script: train, resume, sample, score, with at most
deprecation warnings, and ``genkit plugins`` reports the contract each declares and the
deprecated forms it was seen using.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

FROZEN = Path(__file__).resolve().parent / "frozen_plugins"
PACKAGES = ("genkit-holdout", "genkit-tinygan")


def frozen_files() -> dict[str, str]:
    return {
        str(p.relative_to(FROZEN)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(FROZEN.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts and p.name not in ("README.md", "SHA256SUMS")
    }


def test_frozen_plugins_are_never_edited():
    """Every file is listed in SHA256SUMS with the hash it was added with; adding a plugin
    appends lines, and no line ever changes."""
    listed = {}
    for line in (FROZEN / "SHA256SUMS").read_text().splitlines():
        digest, _, path = line.partition("  ")
        listed[path] = digest
    actual = frozen_files()
    assert sorted(actual) == sorted(listed), "a frozen file was added or removed without updating SHA256SUMS"
    edited = [path for path, digest in actual.items() if listed[path] != digest]
    assert not edited, f"frozen plugins are never edited (write a new one instead): {edited}"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Both frozen plugins installed together (one install) into a private directory."""
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is needed to install the frozen plugins")
    root = tmp_path_factory.mktemp("frozen")
    copies = [shutil.copytree(FROZEN / name, root / "src" / name) for name in PACKAGES]  # builds leave no trace
    target = root / "site"
    install = [uv, "pip", "install", "--quiet", "--python", sys.executable, "--target", str(target), "--no-deps"]
    subprocess.run([*install, *map(str, copies)], check=True, timeout=300)
    return target


def console(site: Path):
    """``genkit(*args) -> (stdout, stderr)``: the installed console script in a fresh process."""
    script = Path(sys.executable).with_name("genkit")
    command = [str(script)] if script.is_file() else [sys.executable, "-m", "genkit"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))}
    env.pop("GENKIT_PLUGINS", None)

    def genkit(*args) -> tuple[str, str]:
        done = subprocess.run(
            [*command, *map(str, args)], env=env, capture_output=True, text=True, timeout=300, check=False
        )
        assert done.returncode == 0, (args, done.stdout[-2000:], done.stderr[-2000:])
        # at most deprecation warnings: no error, traceback or other warning besides progress
        problems = [
            line
            for line in done.stderr.splitlines()
            if not line.startswith("deprecated:") and any(w in line.lower() for w in ("error", "traceback", "warning"))
        ]
        assert not problems, (args, problems)
        return done.stdout, done.stderr

    return genkit


def holdout_contract_1_0(genkit, run: Path) -> list[str]:
    """The 1.0 PixelCNN: an override calling super() with train=, `bpd` without a likelihood
    space, a sampler and an evaluator registered as instances, torch at module level."""
    _, err = genkit("train", "holdout", "--dataset", "holdout-stripes", "--epochs", "1", "--out", run)
    warned = err
    _, err = genkit("train", "holdout", "--resume", run, "--epochs", "2")
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [row["epoch"] for row in rows] == [1, 2]
    genkit("sample", run, "-n", "4", "--sampler", "holdout-raster", "--seed", "3")
    assert (run / "samples.png").is_file()
    out, err = genkit("score", run, "--json")
    warned += err
    metrics = json.loads(out)["metrics"]
    assert 0 < metrics["bpd"] < 1.5 and 0.5 < metrics["pixel_accuracy"] <= 1  # bits of a binary pixel
    return warned.splitlines()


def tinygan_contract_1_1(genkit, run: Path) -> None:
    """The 1.1 GAN of the guide (carry between updates), lazy paths, a sample-based metric
    and a logger. ``score`` loads the run and draws its samples through the prior sampler, the
    path ``genkit sample`` takes (run on the 1.0 plugin): every command starts torch afresh,
    so the test runs each verb once, not once per plugin."""
    genkit("train", "tinygan", "--dataset", "tinygan-dots", "--epochs", "1", "--log", "tinygan-jsonl", "--out", run)
    genkit("train", "tinygan", "--resume", run, "--epochs", "2")
    out, _ = genkit("score", run, "--json")
    scored = json.loads(out)
    assert "brightness_gap" in scored["metrics"]
    assert any(note.endswith("samples drawn with 'prior'") for note in scored["notes"]), scored
    log = [json.loads(line) for line in (run / "tinygan-log.jsonl").read_text().splitlines()]
    assert [(r["event"], r.get("epoch"), r.get("resumed")) for r in log] == [
        ("start", None, False),
        ("epoch", 1, None),
        ("start", None, True),
        ("epoch", 2, None),
    ]


def test_frozen_plugins_train_resume_sample_and_score_through_the_console_script(site, tmp_path):
    genkit = console(site)
    with ThreadPoolExecutor(2) as pool:  # two independent chains of commands
        holdout = pool.submit(holdout_contract_1_0, genkit, tmp_path / "holdout")
        tinygan = pool.submit(tinygan_contract_1_1, genkit, tmp_path / "tinygan")
        warned = holdout.result()
        tinygan.result()
    assert any("super().prepare_batch(batch, train=...)" in line for line in warned)
    assert any("without likelihood_space" in line for line in warned)
    out, _ = genkit("plugins", "--json")
    plugins = {p["name"]: p for p in json.loads(out)}
    assert plugins["holdout"]["status"] == plugins["tinygan"]["status"] == "ok"
    assert (plugins["holdout"]["contract"], plugins["tinygan"]["contract"]) == ("1", "1.1")
    seen = " ".join(plugins["holdout"]["deprecations"])
    assert "train=" in seen and "likelihood_space" in seen and "prepare_batch naming a train argument" in seen
    assert plugins["tinygan"]["deprecations"] == []
