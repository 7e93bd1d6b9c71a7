"""The first thing a user types: the installed ``genkit`` script, run as a user runs it.

Usage errors are the usage line and one error line with exit code 2, never a
traceback; start-up (help, plugins, runs, shell completion) imports neither torch
nor scipy nor matplotlib, from the core or from any installed plugin.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("torch", "scipy", "matplotlib")


def genkit_script() -> str:
    found = shutil.which("genkit", path=str(Path(sys.executable).parent)) or shutil.which("genkit")
    if not found:
        pytest.skip("the genkit console script is not installed in this environment")
    return found


def run_genkit(*args: str, env: dict | None = None, importtime: bool = False) -> subprocess.CompletedProcess:
    cmd = [sys.executable, *(["-X", "importtime"] if importtime else []), genkit_script(), *args]
    return subprocess.run(
        cmd, capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "80", **(env or {})}
    )


@pytest.mark.parametrize(
    "args, error",
    [
        ([], "Missing command"),
        (["--nosuchflag"], "No such option: --nosuchflag"),
        (["frobnicate"], "No such command 'frobnicate'"),
        (["train", "vae", "--epochs", "abc"], "Invalid value for '--epochs'"),
        (["train", "vae", "--nosuch"], "No such option: --nosuch"),
        (["sample"], "Missing argument"),
        (["sample", "vae", "-n", "0"], "Invalid value for '-n'"),
        (["sample", "vae", "--steps", "0"], "Invalid value for '--steps'"),
        (["score", "vae", "--limit", "-3"], "Invalid value for '--limit'"),
        (["train", "--nproc", "0"], "Invalid value for '--nproc'"),
        (["judge", "train", "--epochs", "x"], "Invalid value for '--epochs'"),
    ],
)
def test_usage_errors_are_the_usage_line_and_one_error_line(args, error):
    proc = run_genkit(*args)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines[0].startswith("Usage: genkit"), proc.stderr
    errors = [line for line in lines if line.startswith("Error:")]
    assert len(errors) == 1 and error in errors[0], proc.stderr


def imported_modules(importtime_stderr: str) -> set[str]:
    """Top-level names of every module ``python -X importtime`` reports as imported."""
    names = set()
    for line in importtime_stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            names.add(name.split(".")[0])
    return names


@pytest.mark.parametrize(
    "args, env",
    [
        (["--help"], {}),
        (["plugins"], {}),
        (["plugins", "--json"], {}),
        (["runs"], {}),
        (["train", "--help"], {}),
        (["sample", "--help"], {}),
        (["score", "--help"], {}),
        (["judge", "--help"], {}),
        (["judge", "train", "--help"], {}),
        (["complete", "--help"], {}),
        (["explore", "--help"], {}),
        ([], {"_GENKIT_COMPLETE": "complete_bash", "COMP_WORDS": "genkit tr", "COMP_CWORD": "1"}),
    ],
)
def test_start_up_imports_no_heavy_library(args, env, tmp_path):
    proc = run_genkit(*args, env={"GENKIT_RUNS_DIR": str(tmp_path), **env}, importtime=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    heavy = sorted(imported_modules(proc.stderr) & set(HEAVY))
    assert not heavy, f"`genkit {' '.join(args)}` imported {heavy}"


def test_completion_answers_with_commands():
    proc = run_genkit(env={"_GENKIT_COMPLETE": "complete_bash", "COMP_WORDS": "genkit tr", "COMP_CWORD": "1"})
    assert proc.returncode == 0 and "train" in proc.stdout.split()


def test_import_genkit_alone_does_not_import_torch():
    code = (
        "import sys, genkit; genkit.ModelSpec; genkit.SamplerSpec; genkit.hookimpl; "
        "print(sorted(m for m in ('torch', 'scipy', 'matplotlib') if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "[]", proc.stderr


def test_help_of_sample_lists_the_installed_samplers():
    proc = run_genkit("sample", "--help")
    text = " ".join(proc.stdout.split())
    # every installed sampler, sorted (the diffusion plugin's come before the core's prior)
    assert proc.returncode == 0 and "installed: " in text and "prior" in text.split("installed: ", 1)[1], proc.stdout
