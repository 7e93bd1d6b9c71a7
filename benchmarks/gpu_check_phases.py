"""The phases of benchmarks/gpu_check.py, run one at a time in its worker process.

The worker reads phase names from its input, one a line, and writes each phase's steps to
WORK/phases/NAME.json as they finish, so that a phase stopped at its time limit keeps the
steps it completed. A step that fails is recorded with its error and the phase goes on with
the steps that do not need it. After a phase in which something other than a genkit error
was raised (a CUDA error can leave the device unusable for the rest of the process), the
worker exits and the next phase gets a fresh one.

Sizes: a full run trains the default VAE on all of MNIST for 3 epochs, and every other model,
with its default config and batch size, on the first 100 * batch + 1,000 images of MNIST for
3 epochs (300 steps); figures are medians over the epochs after the first, which pays the
warm-up and any compilation. A --tiny run (a CPU check that the script works) uses tiny
models, two steps, no torch.compile, two sampler steps and judge metrics over 128 samples
instead of 10,000, so its figures mean nothing.
"""

from __future__ import annotations

import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import traceback
import xml.etree.ElementTree as ET
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

import genkit
from genkit.errors import GenkitError
from genkit.plugins import get_plugin_manager

SUBSET = "gpucheck"  # MNIST's first N training images, as dataset "gpucheck:N"
MODELS = ("realnvp", "gan", "gammavae", "diffusion")


@dataclass(frozen=True)
class Sizes:
    """How much each phase does: a full run, or a tiny one."""

    vae_dataset: str  # the default VAE trains on all of it
    vae_sets: dict[str, Any]
    steps: int  # steps per epoch of the other models
    epochs: int  # of the other models: the first pays warm-up and compilation, the others are timed
    val_size: int
    batch_size: int | None  # None: each model's default
    train_sets: dict[str, Any]  # for every model but the VAE
    model_sets: dict[str, dict[str, Any]]  # per model
    score_dataset: str  # whose test split is scored, and whose judge scores samples
    score_limit: int | None
    likelihood_samples: int | None  # None: each model's default
    judge_epochs: int
    judge_samples: int | None  # samples per judge metric; None: the judge's 10,000
    sample_n: int
    compile: bool
    test_images: int | None  # of the gpucheck subset; None: all
    embedded: bool  # read MNIST from the subset shipped inside genkit (6,000 training images)
    sampler_options: dict[str, dict[str, Any]]  # per model, for sampling and sample metrics
    threads: int | None  # CPU threads (None: torch's default)


FULL = Sizes(
    vae_dataset="mnist",
    vae_sets={"train.epochs": 3},
    steps=100,
    epochs=3,
    val_size=1000,
    batch_size=None,
    train_sets={},
    model_sets={},
    score_dataset="mnist",
    score_limit=None,
    likelihood_samples=None,
    judge_epochs=8,
    judge_samples=None,
    sample_n=64,
    compile=True,
    test_images=None,
    embedded=False,
    sampler_options={},
    threads=None,
)

TINY = Sizes(
    vae_dataset=f"{SUBSET}:264",
    vae_sets={
        "train.epochs": 2,
        "train.batch_size": 128,
        "train.val_size": 8,
        "train.grid_samples": 1,
        "model.hidden": 32,
    },
    steps=2,
    epochs=1,
    val_size=6,
    batch_size=16,
    train_sets={"train.grid_samples": 1},
    model_sets={
        "realnvp": {
            "model.hidden": 8,
            "model.res_blocks": 1,
            "model.checkerboard_couplings": 1,
            "model.channel_couplings": 1,
        },
        "gammavae": {"model.width": 4, "model.kappa": 16, "model.latent_dim": 8},
        "diffusion": {
            "model.channels": 8,
            "model.channel_mults": [1, 2],
            "model.attention": False,
            "model.timesteps": 50,  # the DDIM sampler's 50 steps must fit
            "model.sample_steps": 2,
            "model.bound_timesteps": 2,
        },
    },
    score_dataset=f"{SUBSET}:256",
    score_limit=32,
    likelihood_samples=2,
    judge_epochs=1,
    judge_samples=128,
    sample_n=16,
    compile=False,
    test_images=256,
    embedded=True,
    sampler_options={"diffusion": {"steps": 2}},
    threads=1,  # tiny tensors; on a busy machine idle threads spinning cost more than they give
)


def serve(settings_path: Path) -> int:
    """Run the phases named on standard input until it closes."""
    settings = json.loads(settings_path.read_text())
    phases_dir = Path(settings["work"]) / "phases"
    phases_dir.mkdir(parents=True, exist_ok=True)
    for line in sys.stdin:
        name = line.strip()
        if not name:
            continue
        record = Record(phases_dir / f"{name}.json")
        print(f"--- phase {name}", flush=True)
        try:
            PHASES[name](Check(settings), record)
        except Exception as exc:  # a step's own errors are caught in Record.step; this is the phase's
            record.fail(exc)
        record.finish()
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        if record.unsafe:
            print(f"--- phase {name} raised more than a genkit error: this worker stops", flush=True)
            return 3
    return 0


class Record:
    """A phase's steps, written to its JSON file after each one."""

    def __init__(self, path: Path):
        self.path = path
        self.data: dict[str, Any] = {"steps": {}}
        self.unsafe = False

    @contextmanager
    def step(self, name: str):
        """Run a step; its entry (a dict the step fills with figures) is saved however it ends."""
        entry: dict[str, Any] = {"status": "running"}
        self.data["steps"][name] = entry
        self.save()
        started = time.perf_counter()
        try:
            yield entry
            entry["status"] = "ok"
        except Exception as exc:
            entry.update(status="failed", error=self._error(exc))
        finally:
            entry["seconds"] = round(time.perf_counter() - started, 2)
            self.save()

    def skip(self, name: str, reason: str) -> None:
        self.data["steps"][name] = {"status": "skipped", "reason": reason}
        self.save()

    def ok(self, name: str) -> bool:
        return self.data["steps"].get(name, {}).get("status") == "ok"

    def fail(self, exc: Exception) -> None:
        self.data["error"] = self._error(exc)

    def _error(self, exc: Exception) -> str:
        if not isinstance(exc, GenkitError):
            self.unsafe = True
            traceback.print_exc()
        first = (str(exc).strip().splitlines() or [""])[0][:300]
        return f"{type(exc).__name__}: {first}"

    def finish(self) -> None:
        steps = self.data["steps"].values()
        failed = "error" in self.data or any(s["status"] not in ("ok", "skipped") for s in steps)
        self.data.update(status="failed" if failed else "ok", finished=True)
        self.save()

    def save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=2, default=str))
        tmp.replace(self.path)


class Check:
    """What every phase needs: the settings, the sizes, and training, sampling and scoring with them."""

    def __init__(self, settings: dict[str, Any]):
        self.device = settings["device"]
        self.tiny = settings["tiny"]
        self.sizes = TINY if self.tiny else FULL
        self.data_dir = settings["data_dir"]
        self.work = Path(settings["work"])
        self.out = Path(settings["out"])
        self.tests = settings["tests"]
        self.on_gpu = self.device.startswith("cuda")
        register_subset(self.sizes.test_images, self.sizes.embedded)
        if self.sizes.threads:
            torch.set_num_threads(self.sizes.threads)
        if self.tiny and self.sizes.judge_samples:
            from genkit_judge.evaluator import JudgeEvaluator

            JudgeEvaluator.num_samples = self.sizes.judge_samples

    def train(self, model: str, name: str, overrides: dict[str, Any], entry: dict[str, Any]):
        """Train into WORK/runs/NAME and put the epochs' figures into ``entry``."""
        values = {"train.device": self.device, **overrides}
        if self.data_dir:
            values["train.data_dir"] = self.data_dir
        if self.on_gpu:
            torch.cuda.reset_peak_memory_stats(self.device)
        result = genkit.train(model, overrides=values, out=self.work / "runs" / name, reporter=LogReporter(name))
        rows = result.metrics
        rates = [row["images_per_second"] for row in rows]
        timed = rates[1:] or rates  # the first epoch pays warm-up and any compilation
        entry.update(
            run=str(result.run.path),
            epochs=len(rows),
            epoch_seconds=[row["seconds"] for row in rows],
            epoch_images_per_second=rates,
            images_per_second=round(statistics.median(timed), 1),
            last_train=rows[-1]["train"],
            last_val=rows[-1]["val"],
        )
        if self.on_gpu:
            entry["peak_memory_mib"] = round(torch.cuda.max_memory_allocated(self.device) / 2**20, 1)
        return result.run.path

    def sample_and_score(self, model: str, run: Path | None, record: Record, metrics=None, ood: bool = False):
        if run is None:
            for step in ("sample", "score"):
                record.skip(step, "no run was trained")
            return
        with record.step("sample") as entry:
            options = self.sizes.sampler_options.get(model, {})
            out = self.out / f"{model}_samples.png"
            picture = genkit.sample(run, self.sizes.sample_n, device=self.device, out=out, **options)
            images = picture.images
            entry.update(png=picture.path.name, shape=list(images.shape), mean=round(float(images.mean()), 4))
        with record.step("score") as entry:
            report = genkit.score(
                run,
                metrics,
                samples=self.sizes.likelihood_samples,
                dataset=self.sizes.score_dataset,
                limit=self.sizes.score_limit,
                device=self.device,
                sampler_options=self.sizes.sampler_options.get(model),
            )
            entry.update(dataset=report.dataset, examples=report.examples, metrics=report.metrics())
        if not ood:
            return
        if not self._has("FashionMNIST"):
            record.skip("score --ood fashion-mnist", "no Fashion-MNIST files in the data folder")
            return
        with record.step("score --ood fashion-mnist") as entry:
            report = genkit.score_ood(
                run,
                "fashion-mnist",
                dataset=self.sizes.score_dataset,
                samples=self.sizes.likelihood_samples,
                limit=self.sizes.score_limit,
                device=self.device,
                plot=str(self.work / f"{model}_ood.png"),
            )
            entry.update(metrics=report.metrics())

    def _has(self, folder: str) -> bool:
        return bool(self.data_dir) and (Path(self.data_dir) / folder / "raw").is_dir()


class LogReporter(genkit.Reporter):
    """One plain line per epoch and message, for the log."""

    def __init__(self, name: str):
        self.name = name

    def message(self, text: str) -> None:
        print(f"{self.name}: {text}", flush=True)

    def epoch_end(self, row: dict[str, Any], monitor: str | None) -> None:
        val = row["val"].get(monitor) if monitor else None
        shown = f", val {monitor} {val:.4g}" if val is not None else ""
        rate = f"{row['images_per_second']:.0f} images/s"
        print(f"{self.name}: epoch {row['epoch']}: {row['seconds']:.2f} s, {rate}{shown}", flush=True)


def register_subset(test_images: int | None, embedded: bool) -> None:
    """Dataset ``gpucheck:N``: the first N training images of MNIST and its first ``test_images`` test
    images (None: all), from the data folder or the subset shipped in genkit. Registered again
    whenever genkit's plugins were reloaded (the tests do that)."""
    from genkit.data.sources import EMBEDDED_ROOT

    if SUBSET not in get_plugin_manager().registries["datasets"]:
        source = str(EMBEDDED_ROOT) if embedded else None
        genkit.register_subset(SUBSET, "mnist", test=test_images, data_dir=source)


# -- the phases -----------------------------------------------------------------------------------------
def environment(check: Check, record: Record) -> None:
    with record.step("versions") as entry:
        from importlib import metadata

        entry.update(
            python=platform.python_version(),
            torch=torch.__version__,
            cuda=torch.version.cuda,
            cudnn=torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
            genkit=metadata.version("genkit"),
            plugins={p["name"]: p.get("status", "ok") for p in genkit.list_plugins()},
            machine=platform.machine(),
            cpus=os.cpu_count(),
        )
    with record.step("device") as entry:
        from genkit.device import describe_device, resolve_device
        from genkit.training.precision import cuda_has_native_bf16, resolve_precision

        device = resolve_device(check.device)
        entry.update(device=describe_device(device), auto_precision=resolve_precision("auto", device).name)
        if device.type == "cuda":
            props = torch.cuda.get_device_properties(device)
            entry.update(
                gpus=torch.cuda.device_count(),
                name=props.name,
                capability=f"{props.major}.{props.minor}",
                memory_gib=round(props.total_memory / 2**30, 1),
                multiprocessors=props.multi_processor_count,
                native_bf16=cuda_has_native_bf16(device),
            )


def cuda_tests(check: Check, record: Record) -> None:
    """``pytest -m cuda``, in this process (the worker has imported torch and genkit already)."""
    with record.step("pytest -m cuda") as entry:
        import pytest

        xml = check.work / "cuda-tests.xml"
        args = ["-m", "cuda", "-p", "no:cacheprovider", "--continue-on-collection-errors", "--junitxml", str(xml)]
        code = pytest.main([*args, *check.tests])
        entry.update(exit_code=int(code), **junit_counts(xml))
        if code != 0:
            names = ", ".join(f["test"] for f in entry.get("failures", [])[:5])
            raise GenkitError(f"pytest -m cuda exited with {int(code)}" + (f" ({names})" if names else ""))


def junit_counts(path: Path) -> dict[str, Any]:
    """Passed, failed, errors and skipped, the failures' first lines and the distinct skip reasons."""
    if not path.is_file():
        return {}
    cases = ET.parse(path).getroot().iter("testcase")
    counts = {"passed": 0, "failed": 0, "errors": 0, "skipped": 0}
    failures, reasons = [], set()
    for case in cases:
        test = f"{case.get('classname')}::{case.get('name')}"
        outcome = next((child for child in case if child.tag in ("failure", "error", "skipped")), None)
        if outcome is None:
            counts["passed"] += 1
        elif outcome.tag == "skipped":
            counts["skipped"] += 1
            reasons.add((outcome.get("message") or "").strip())
        else:
            counts["failed" if outcome.tag == "failure" else "errors"] += 1
            failures.append({"test": test, "message": (outcome.get("message") or "").strip()[:300]})
    return {**counts, "failures": failures, "skip_reasons": sorted(reasons)}


def vae(check: Check, record: Record) -> None:
    """The default VAE, fp32 then bf16: seconds per epoch of 60,000 images at the rate measured."""
    sizes, runs = check.sizes, {}
    for precision in ("fp32", "bf16"):
        with record.step(f"train {precision}") as entry:
            overrides = {"train.dataset": sizes.vae_dataset, "train.precision": precision, **sizes.vae_sets}
            runs[precision] = check.train("vae", f"vae-{precision}", overrides, entry)
            entry["seconds_per_60k_epoch"] = round(60_000 / entry["images_per_second"], 3)
    check.sample_and_score("vae", runs.get("bf16") or runs.get("fp32"), record)


def judge(check: Check, record: Record) -> None:
    """The judge of the scoring dataset, which the GAN's and diffusion's sample metrics need."""
    with record.step("train") as entry:
        from genkit_judge.training import train_judge

        report = train_judge(
            check.sizes.score_dataset, check.data_dir, epochs=check.sizes.judge_epochs, device=check.device
        )
        entry.update(epochs=report.epochs, test_accuracy=report.test_accuracy, train_seconds=round(report.seconds, 2))


def model_phase(model: str):
    """Train ``model`` in bf16 for STEPS * EPOCHS steps eagerly, sample and score that run, then train it
    again compiled and draw from the compiled run's checkpoint (so a compile that runs out of time
    costs only itself)."""

    def phase(check: Check, record: Record) -> None:
        sizes = check.sizes
        spec = get_plugin_manager().model(model)
        batch = sizes.batch_size or spec.train_defaults.get("batch_size", genkit.TrainConfig().batch_size)
        images = sizes.steps * batch + sizes.val_size  # every epoch STEPS full batches
        base = {
            "train.dataset": f"{SUBSET}:{images}",
            "train.epochs": sizes.epochs,
            "train.batch_size": batch,
            "train.val_size": sizes.val_size,
            "train.precision": "bf16",
            **sizes.train_sets,
            **sizes.model_sets.get(model, {}),
        }
        eager = None
        with record.step("train bf16 eager") as entry:
            eager = check.train(model, f"{model}-eager", {**base, "train.compile": False}, entry)
            entry["steps"] = sizes.steps * sizes.epochs
        check.sample_and_score(model, eager, record, ood=model == "realnvp")
        if not sizes.compile:
            reason = "torch.compile is left out of --tiny runs (compiling on a CPU takes minutes)"
            record.skip("train bf16 compile", reason)
            return
        with record.step("train bf16 compile") as entry:
            compiled = check.train(model, f"{model}-compile", {**base, "train.compile": True}, entry)
            entry["steps"] = sizes.steps * sizes.epochs
            entry["first_epoch_seconds"] = entry["epoch_seconds"][0]  # compilation included
        if record.ok("train bf16 compile"):
            with record.step("sample the compiled run") as entry:
                options = sizes.sampler_options.get(model, {})
                picture = genkit.sample(
                    compiled, 4, device=check.device, out=check.work / f"{model}-compile.png", **options
                )
                entry["mean"] = round(float(picture.images.mean()), 4)

    return phase


def ddp(check: Check, record: Record) -> None:
    """The default VAE with two processes over NCCL (torchrun), on a machine with two GPUs."""
    gpus = torch.cuda.device_count() if check.on_gpu and torch.cuda.is_available() else 0
    step = "train vae, 2 processes"
    if gpus < 2:
        record.skip(step, f"needs 2 GPUs; this machine has {gpus}")
        return
    with record.step(step) as entry:
        run = check.work / "runs" / "vae-ddp"
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
        command += ["-m", "genkit", "train", "vae", "--device", "cuda", "--epochs", "2", "--out", str(run)]
        if check.data_dir:
            command += ["--data-dir", check.data_dir]
        done = subprocess.run(command, stdout=sys.stdout, stderr=subprocess.STDOUT)
        if done.returncode != 0:
            raise GenkitError(f"torchrun exited with {done.returncode} (see the log)")
        rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
        manifest = json.loads((run / "manifest.json").read_text())
        rates = [row["images_per_second"] for row in rows]
        entry.update(
            processes=manifest.get("processes"),
            epoch_images_per_second=rates,
            images_per_second=rates[-1],
            seconds_per_60k_epoch=round(60_000 / rates[-1], 3),
        )


PHASES = {
    "environment": environment,
    "cuda-tests": cuda_tests,
    "vae": vae,
    "judge": judge,
    **{model: model_phase(model) for model in MODELS},
    "ddp": ddp,
}
