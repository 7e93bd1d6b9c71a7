"""benchmarks/gpu_check.py, the prepared GPU check, run here on the CPU at tiny sizes so that it
cannot rot while no GPU is lent: every phase runs, records its figures, and writes the JSON, the
log and the sample grids; a phase that runs out of time is stopped with everything it started
and the next phase still runs; a missing library stops it in one line before anything starts."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "benchmarks" / "gpu_check.py"
MODELS = ("realnvp", "gan", "gammavae", "diffusion")


def gpu_check(*args, python=(sys.executable,), timeout=600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*python, str(SCRIPT), *map(str, args)], capture_output=True, text=True, timeout=timeout, cwd=REPO
    )


def test_the_whole_check_runs_on_the_cpu_at_tiny_sizes(tmp_path):
    out = tmp_path / "out"
    data = os.environ.get("GENKIT_DATA_DIR")  # the reference datasets when present: Fashion-MNIST for --ood
    extra = ["--data-dir", data] if data else []
    done = gpu_check(
        "run",
        out,
        "--device",
        "cpu",
        "--tiny",
        "--no-install",
        "--work",
        tmp_path / "work",
        *extra,
        "--tests",
        "tests/test_cuda.py",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((out / "gpu_check.json").read_text())
    phases = report["phases"]
    assert list(phases) == ["requirements", "environment", "cuda-tests", "vae", "judge", *MODELS, "ddp"]
    assert {name: p["status"] for name, p in phases.items()} == {name: "ok" for name in phases}
    steps = {name: p.get("steps", {}) for name, p in phases.items()}
    assert steps["environment"]["device"]["device"] == "cpu" and steps["environment"]["versions"]["torch"]

    tests = steps["cuda-tests"]["pytest -m cuda"]
    assert tests["passed"] == tests["failed"] == tests["errors"] == 0 and tests["skipped"] >= 10
    assert any("needs 1 CUDA GPU" in reason for reason in tests["skip_reasons"])

    for precision in ("fp32", "bf16"):
        run = steps["vae"][f"train {precision}"]
        assert run["epochs"] == 2 and run["seconds_per_60k_epoch"] == pytest.approx(
            60_000 / run["images_per_second"], rel=1e-3
        )
    for model in MODELS:
        assert steps[model]["train bf16 eager"]["images_per_second"] > 0
        assert steps[model]["train bf16 compile"]["status"] == "skipped"
        assert (out / f"{model}_samples.png").stat().st_size > 0
        assert steps[model]["score"]["metrics"], model
    assert "judge_fd" in steps["gan"]["score"]["metrics"]
    assert steps["ddp"]["train vae, 2 processes"] == {"status": "skipped", "reason": "needs 2 GPUs; this machine has 0"}

    summary = report["summary"]
    assert summary["not_ok"] == [] and summary["cuda_tests"]["failed"] == 0
    assert summary["vae_seconds_per_60k_epoch"]["bf16"] == steps["vae"]["train bf16"]["seconds_per_60k_epoch"]
    log = (out / "gpu_check.log").read_text()
    assert "--- phase diffusion" in log and "wrote" in log
    assert not list((tmp_path / "work").glob("phases/*.tmp"))


def test_a_phase_out_of_time_is_stopped_and_the_next_one_still_starts(tmp_path):
    out = tmp_path / "out"
    done = gpu_check(
        "run",
        out,
        "--device",
        "cpu",
        "--tiny",
        "--no-install",
        "--phases",
        "vae,judge",
        "--limit",
        "vae=0.5",
        "--limit",
        "judge=0.5",
        timeout=60,
    )
    assert done.returncode == 1
    phases = json.loads((out / "gpu_check.json").read_text())["phases"]
    assert [phases[p]["status"] for p in ("vae", "judge")] == ["timeout", "timeout"]
    assert phases["vae"]["error"] == "stopped at its limit of 0.5 s"
    workers = {phases["vae"]["worker"], phases["judge"]["worker"]}
    assert len(workers) == 2  # a fresh worker for the phase after a timeout
    for pid in workers:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # killed with its whole process group
    assert "vae: timeout" in done.stdout and "judge: timeout" in done.stdout


def test_a_missing_library_stops_the_check_in_one_line_before_anything_runs(tmp_path):
    out = tmp_path / "out"
    done = gpu_check("run", out, "--no-install", python=(sys.executable, "-S"), timeout=60)  # -S: no site-packages
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1
    assert lines[0].startswith("gpu_check: missing on this machine: ") and "torch>=" in lines[0]
    assert "nothing is downloaded" in lines[0]
    report = json.loads((out / "gpu_check.json").read_text())
    assert report["phases"]["requirements"]["status"] == "failed" and list(report["phases"]) == ["requirements"]
    # a library only a plugin the check does not use needs is noted, not required
    assert "torch-fidelity" not in lines[0]
    assert "torch-fidelity>=0.3" in report["phases"]["requirements"]["unused_missing"]


def test_an_unknown_phase_is_one_line():
    done = gpu_check("run", "unused", "--phases", "vae,warp")
    assert done.returncode == 2 and done.stderr.strip() == (
        "gpu_check: unknown phase warp (phases: environment, cuda-tests, vae, judge, realnvp, gan, gammavae, "
        "diffusion, ddp)"
    )


def test_prepare_copies_both_datasets_and_refuses_an_incomplete_source(tmp_path, data_dir):
    done = gpu_check("prepare", "--from", data_dir, "--to", tmp_path, "--no-wheels", timeout=60)
    assert done.returncode == 0, done.stderr
    for name in ("MNIST", "FashionMNIST"):
        copied = sorted(p.name for p in (tmp_path / "data" / name / "raw").iterdir())
        assert copied == sorted(p.name for p in (Path(data_dir) / name / "raw").glob("*-ubyte.gz"))
    (tmp_path / "partial" / "MNIST" / "raw").mkdir(parents=True)
    done = gpu_check("prepare", "--from", tmp_path / "partial", "--to", tmp_path / "else", "--no-wheels", timeout=60)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "lacks train-images-idx3-ubyte.gz" in done.stderr
    assert not (tmp_path / "else").exists()
