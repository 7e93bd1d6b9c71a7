"""A prepared check of genkit on a GPU machine: one command, a few minutes.

It installs genkit and its plugins from this tree with ``pip install --no-deps -e`` (the
machine already has torch and the other libraries; nothing is downloaded there), runs the
tests marked ``cuda``, times the default VAE in fp32 and bf16 (seconds per 60,000-image
epoch) and RealNVP, the GAN, the learned-gamma VAE and diffusion for a few hundred steps in
bf16, eager and compiled (images per second), samples and scores each, and trains with two
processes over NCCL where the machine has two GPUs. Each phase has its own time limit and
the whole run a budget: a phase that fails or runs out of time is recorded and the next
one starts. OUT receives gpu_check.json, gpu_check.log and one sample grid per model.

Prepare once, where the datasets are and a network is (docs/scaling.md):

    python3 benchmarks/gpu_check.py prepare --from ../shared/data

Then, from the repository root of the GPU machine, with data/ and wheels/ beside it:

    python3 benchmarks/gpu_check.py run OUT

The same script, tiny and on a CPU (tests/test_gpu_check.py runs this):

    python3 benchmarks/gpu_check.py run OUT --device cpu --tiny --no-install

This file only orchestrates and imports nothing beyond the standard library, so a missing
library is reported before anything starts; the phases themselves run in a worker process
(gpu_check_phases.py), restarted after a phase that timed out, crashed or failed in a way
that may have broken the device.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data"  # ignored by git; filled by `prepare`
WHEELS = REPO / "wheels"  # ignored by git; genkit's build backend, for a machine without a network
DATASETS = ("MNIST", "FashionMNIST")
IDX_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
#: hatchling and what it needs to build an editable install, as tested; all pure Python.
BUILD_WHEELS = (
    "hatchling==1.33.0",
    "editables==0.5",
    "packaging==26.4",
    "pathspec==1.1.1",
    "pluggy==1.7.0",
    "trove-classifiers==2026.9.21.13",
    "tomlkit==0.15.3",
)
#: Every phase in the order it runs, with the seconds it may take (sized for one H100).
PHASE_LIMITS = {
    "environment": 60,
    "cuda-tests": 120,
    "vae": 90,
    "judge": 60,
    "realnvp": 100,
    "gan": 80,
    "gammavae": 80,
    "diffusion": 120,
    "ddp": 60,
}
#: The plugins the phases use: their libraries must be there (every plugin is installed).
CHECKED_PLUGINS = ("genkit_vae", "genkit_judge", "genkit_realnvp", "genkit_gan", "genkit_gammavae", "genkit_diffusion")
INSTALL_LIMIT = 150
BUDGET = 450  # the whole run, install included: under 8 minutes with room to stop cleanly
MIN_SLICE = 5  # a phase that would get less than this is skipped instead


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.command == "prepare":
        return prepare(Path(args.source), Path(args.to), args.wheels)
    if args.command == "worker":
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from gpu_check_phases import serve

        code = serve(Path(args.settings))
        sys.stdout.flush()
        os._exit(code)  # everything is written: skip the interpreter's slow teardown of torch and CUDA
    return run(args)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    prep = sub.add_parser("prepare", help="copy the datasets into data/ and the build wheels into wheels/")
    prep.add_argument(
        "--from",
        dest="source",
        default=os.environ.get("GENKIT_DATA_DIR") or str(REPO.parent / "shared" / "data"),
        help="folder holding MNIST/raw and FashionMNIST/raw (default GENKIT_DATA_DIR, else ../shared/data)",
    )
    prep.add_argument("--no-wheels", dest="wheels", action="store_false", help="copy the datasets only")
    prep.add_argument("--to", default=str(REPO), help="where data/ and wheels/ go (default: the repository root)")
    go = sub.add_parser("run", help="run the check, writing into OUT")
    go.add_argument("out", help="output folder: gpu_check.json, gpu_check.log, sample grids")
    go.add_argument("--device", default="cuda", help="cuda (default), cuda:N or cpu")
    go.add_argument("--tiny", action="store_true", help="tiny data, models and steps, no compile (a quick CPU run)")
    go.add_argument("--no-install", dest="install", action="store_false", help="use the genkit already installed")
    go.add_argument("--data-dir", default=None, help=f"datasets (default {DATA.relative_to(REPO)}/ if it holds them)")
    go.add_argument("--work", default=None, help="runs, judges and caches (default: a temporary folder, removed)")
    go.add_argument("--phases", default=",".join(PHASE_LIMITS), help="comma-separated, run in this order")
    go.add_argument("--limit", action="append", default=[], metavar="PHASE=SECONDS", help="another phase limit")
    go.add_argument("--budget", type=float, default=BUDGET, help=f"seconds for the whole run (default {BUDGET})")
    go.add_argument("--tests", nargs="*", default=[], help="test paths for the cuda phase (default: all)")
    work = sub.add_parser("worker", help=argparse.SUPPRESS)
    work.add_argument("settings")
    return parser.parse_args(argv)


# -- prepare ---------------------------------------------------------------------------------
def prepare(source: Path, to: Path, wheels: bool) -> int:
    """Copy MNIST and Fashion-MNIST into TO/data and download the build wheels into TO/wheels."""
    for name in DATASETS:
        missing = [f for f in IDX_FILES if not (source / name / "raw" / f).is_file()]
        if missing:
            print(f"gpu_check: {source / name / 'raw'} lacks {', '.join(missing)}", file=sys.stderr)
            return 2
    for name in DATASETS:
        target = to / DATA.name / name / "raw"
        target.mkdir(parents=True, exist_ok=True)
        for f in IDX_FILES:
            shutil.copy2(source / name / "raw" / f, target / f)
    print(f"copied {', '.join(DATASETS)} from {source} into {to / DATA.name}")
    if wheels:
        command = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:"]
        done = subprocess.run([*command, "-d", str(to / WHEELS.name), *BUILD_WHEELS], capture_output=True, text=True)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            print(f"gpu_check: could not download the build wheels with pip ({last})", file=sys.stderr)
            return 2
        print(f"downloaded {len(BUILD_WHEELS)} build wheels into {to / WHEELS.name}")
    return 0


# -- run ---------------------------------------------------------------------------------------
class Report:
    """gpu_check.json, rewritten after every phase so that an interrupted run keeps what it did."""

    def __init__(self, out: Path, settings: dict, budget: float):
        self.path = out / "gpu_check.json"
        self.data = {
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
            "started": datetime.datetime.now().isoformat(timespec="seconds"),
            "budget_seconds": budget,
            "settings": settings,
            "phases": {},
        }

    def phase(self, name: str, entry: dict) -> None:
        self.data["phases"][name] = entry
        self.save()

    def save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=2, default=str))
        tmp.replace(self.path)


def run(args) -> int:
    started = time.perf_counter()
    try:
        limits = phase_limits(args.phases, args.limit)
    except ValueError as exc:
        print(f"gpu_check: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    log = open(out / "gpu_check.log", "w", buffering=1)
    data_dir = args.data_dir or (str(DATA) if (DATA / "MNIST" / "raw").is_dir() else None)
    temporary = args.work is None
    work = Path(args.work or tempfile.mkdtemp(prefix="gpu_check-")).resolve()
    settings = {
        "device": args.device,
        "tiny": args.tiny,
        "data_dir": data_dir,
        "work": str(work),
        "out": str(out),
        "tests": args.tests,
    }
    report = Report(out, settings, args.budget)

    def say(line: str) -> None:
        stamped = f"[{time.perf_counter() - started:6.1f}s] {line}"
        print(stamped, flush=True)
        log.write(stamped + "\n")

    try:
        problem = missing_requirements(args.install) or missing_data(data_dir, args.tiny)
        unused = other_plugins_missing()
        report.phase(
            "requirements",
            {
                "status": "failed" if problem else "ok",
                **({"error": problem} if problem else {}),
                "unused_missing": unused,
            },
        )
        if unused:
            say(f"note: missing here, needed only by plugins the check does not use: {', '.join(unused)}")
        if problem:
            print(f"gpu_check: {problem}", file=sys.stderr)
            log.write(f"gpu_check: {problem}\n")
            return 2
        if args.install:
            entry = install(min(INSTALL_LIMIT, args.budget))
            report.phase("install", entry)
            say(f"install: {entry['status']} ({entry['seconds']:.1f} s)")
            if entry["status"] != "ok":
                print(f"gpu_check: pip install failed: {entry['error']}", file=sys.stderr)
                return 1
        work.mkdir(parents=True, exist_ok=True)
        (work / "settings.json").write_text(json.dumps(settings))
        worker = Worker(work, log, environment(work, data_dir))
        try:
            for name, limit in limits.items():
                left = args.budget - (time.perf_counter() - started)
                if left < MIN_SLICE:
                    spent = f"the run's budget of {args.budget:g} s is spent"
                    report.phase(name, {"status": "skipped", "reason": spent})
                    say(f"{name}: skipped (budget spent)")
                    continue
                say(f"{name}: started (limit {min(limit, left):.0f} s)")
                entry = worker.run(name, min(limit, left))
                report.phase(name, entry)
                say(f"{name}: {entry['status']} ({entry['seconds']:.1f} s){describe(entry)}")
        finally:
            worker.close()
        report.data["summary"] = summarize(report.data["phases"])
        return 0 if not report.data["summary"]["not_ok"] else 1
    finally:
        report.data["seconds"] = round(time.perf_counter() - started, 1)
        report.data["finished"] = datetime.datetime.now().isoformat(timespec="seconds")
        report.save()
        say(f"wrote {report.path}")
        log.close()
        if temporary:
            shutil.rmtree(work, ignore_errors=True)


def phase_limits(phases: str, overrides: list[str]) -> dict[str, float]:
    names = [p.strip() for p in phases.split(",") if p.strip()]
    unknown = [p for p in names if p not in PHASE_LIMITS]
    if unknown:
        raise ValueError(f"unknown phase {', '.join(unknown)} (phases: {', '.join(PHASE_LIMITS)})")
    limits = {name: float(PHASE_LIMITS[name]) for name in names}
    for item in overrides:
        name, _, seconds = item.partition("=")
        if name not in PHASE_LIMITS or not re.fullmatch(r"\d+(\.\d+)?", seconds):
            raise ValueError(f"--limit takes PHASE=SECONDS with a known phase (got {item!r})")
        if name in limits:
            limits[name] = float(seconds)
    return limits


def environment(work: Path, data_dir: str | None) -> dict[str, str]:
    """The worker's environment: runs, judges and caches under WORK, no downloads, unbuffered output."""
    env = {**os.environ, "GENKIT_RUNS_DIR": str(work / "runs"), "GENKIT_CACHE_DIR": str(work / "cache")}
    env.update(GENKIT_OFFLINE="1", PYTHONUNBUFFERED="1")
    if data_dir:
        env["GENKIT_DATA_DIR"] = data_dir
    return env


# -- what must be there first ------------------------------------------------------------------------
def missing_requirements(installing: bool, plugins: tuple[str, ...] = CHECKED_PLUGINS) -> str | None:
    """One line naming every library that genkit and the plugins the phases use declare (and pytest)
    that is missing or too old, and the build backend when installing; None when all are there."""
    missing = [missing_library(name, spec) for name, spec in requirements(plugins)]
    missing = [m for m in missing if m]
    if installing and not list(WHEELS.glob("hatchling-*.whl")) and missing_library("hatchling", ""):
        missing.append(f"hatchling (the build backend; or carry {WHEELS.relative_to(REPO)}/ from `prepare`)")
    if not missing:
        return None
    return f"missing on this machine: {', '.join(missing)}; nothing is downloaded during the check"


def other_plugins_missing() -> list[str]:
    """Libraries only the plugins the check does not use declare, missing here: those plugins install
    all the same and are reported broken or fail when used, which the check does not do."""
    others = tuple(
        p.parent.name for p in (REPO / "plugins").glob("*/pyproject.toml") if p.parent.name not in CHECKED_PLUGINS
    )
    needed = set(requirements(CHECKED_PLUGINS))
    return [
        m for name, spec in requirements(others) if (name, spec) not in needed and (m := missing_library(name, spec))
    ]


def missing_library(name: str, spec: str) -> str | None:
    """``name`` with what is wrong with it, or None when an accepted version is installed."""
    from importlib import metadata

    try:
        version = metadata.version(name)
    except metadata.PackageNotFoundError:
        return name + spec
    return f"{name}{spec} (found {version})" if spec and not satisfies(version, spec) else None


def requirements(plugins: tuple[str, ...]) -> list[tuple[str, str]]:
    """(name, version specifier) of every library genkit and ``plugins`` (folders of plugins/) declare,
    and pytest."""
    found = {"pytest": ""}
    for path in [REPO / "pyproject.toml", *(REPO / "plugins" / name / "pyproject.toml" for name in plugins)]:
        for line in declared_dependencies(path.read_text()):
            requirement, _, marker = line.partition(";")
            if marker.strip() and not marker_applies(marker):
                continue
            match = re.match(r"\s*([A-Za-z0-9._-]+)\s*(.*)", requirement)
            name, spec = match.group(1), match.group(2).strip()
            if not name.startswith("genkit"):
                found[name] = spec
    return sorted(found.items())


def declared_dependencies(text: str) -> list[str]:
    """The strings of [project] dependencies (read with a pattern: no TOML library is needed)."""
    block = re.search(r"^dependencies\s*=\s*\[(.*?)\]", text, re.S | re.M)
    return re.findall(r"\"([^\"]+)\"", block.group(1)) if block else []


def marker_applies(marker: str) -> bool:
    """Environment markers of the form ``python_version < '3.11'`` (the only kind declared here)."""
    match = re.fullmatch(r"\s*python_version\s*(<|<=|>|>=|==|!=)\s*['\"]([\d.]+)['\"]\s*", marker)
    if not match:
        return True
    return compare(sys.version_info[:2], match.group(1), version_tuple(match.group(2)))


def satisfies(version: str, spec: str) -> bool:
    """Whether ``version`` meets a comma-separated specifier of <, <=, >, >=, == and != clauses."""
    for clause in spec.split(","):
        match = re.fullmatch(r"\s*(<=|>=|==|!=|<|>)\s*([\d.]+)\s*", clause)
        if match and not compare(version_tuple(version), match.group(1), version_tuple(match.group(2))):
            return False
    return True


def version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text.split("+")[0])[:3])


def compare(a: tuple, op: str, b: tuple) -> bool:
    width = max(len(a), len(b))
    a, b = a + (0,) * (width - len(a)), b + (0,) * (width - len(b))
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b, "==": a == b, "!=": a != b}[op]


def missing_data(data_dir: str | None, tiny: bool) -> str | None:
    """A full run needs MNIST files (a tiny one falls back to the subset shipped with genkit)."""
    if tiny:
        return None
    root = Path(data_dir) if data_dir else DATA
    if all((root / "MNIST" / "raw" / f).is_file() for f in IDX_FILES):
        return None
    return (
        f"no MNIST files under {root}; run `python3 benchmarks/gpu_check.py prepare --from ../shared/data` first "
        "(it copies the datasets into data/) or give --data-dir"
    )


def install(limit: float) -> dict:
    """``pip install --no-deps -e`` of genkit and every plugin, offline. The build backend comes from
    wheels/ when it is there (installed once into a temporary folder that the builds see, rather
    than into an isolated environment per package), else from this Python."""
    packages = [REPO, *sorted(p.parent for p in (REPO / "plugins").glob("*/pyproject.toml"))]
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps"]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="gpu_check-backend-") as backend:
        env = dict(os.environ)
        steps = []
        if list(WHEELS.glob("hatchling-*.whl")):
            steps.append([*pip, "--target", backend, *map(str, sorted(WHEELS.glob("*.whl")))])
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [backend, env.get("PYTHONPATH")]))
        steps.append([*pip, "--no-build-isolation", *[a for package in packages for a in ("-e", str(package))]])
        for command in steps:
            left = limit - (time.perf_counter() - started)
            try:
                done = subprocess.run(command, capture_output=True, text=True, timeout=max(left, 1), env=env)
            except subprocess.TimeoutExpired:
                return {"status": "timeout", "seconds": round(limit, 1), "error": f"pip ran past {limit:g} s"}
            if done.returncode != 0:
                lines = [line for line in (done.stderr or done.stdout).splitlines() if line.strip()]
                error = (lines or ["no output"])[-1].strip()
                return {"status": "failed", "seconds": round(time.perf_counter() - started, 1), "error": error}
    return {"status": "ok", "seconds": round(time.perf_counter() - started, 1), "packages": len(packages)}


# -- the worker ---------------------------------------------------------------------------------------
class Worker:
    """The process that runs the phases (gpu_check_phases.serve), one at a time, each within its limit.

    A phase's result is WORK/phases/NAME.json, which the worker rewrites after each of the phase's
    steps; a phase is over when that file says ``finished``. On a timeout the worker's whole process
    group (torchrun and compiler workers included) is killed, and the next phase starts a new worker.
    """

    def __init__(self, work: Path, log, env: dict[str, str]):
        self.work, self.log, self.env = work, log, env
        self.proc: subprocess.Popen | None = None
        self.pids: list[int] = []

    def run(self, phase: str, limit: float) -> dict:
        result = self.work / "phases" / f"{phase}.json"
        result.unlink(missing_ok=True)
        started = time.perf_counter()
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        try:
            self.proc.stdin.write(phase + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass  # it died on its way up: seen below
        while True:
            entry = read_json(result)
            seconds = round(time.perf_counter() - started, 1)
            if entry.get("finished"):
                break
            if self.proc.poll() is not None:
                entry.update(status="crashed", error=f"the worker process exited with code {self.proc.returncode}")
                break
            if seconds > limit:
                self._kill()
                entry.update(status="timeout", error=f"stopped at its limit of {limit:g} s")
                break
            time.sleep(0.1)
        entry.pop("finished", None)
        status = entry.pop("status", "failed")
        return {"status": status, "seconds": seconds, "limit": round(limit, 1), "worker": self.proc.pid, **entry}

    def _start(self) -> None:
        command = [sys.executable, str(Path(__file__).resolve()), "worker", str(self.work / "settings.json")]
        self.proc = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
            env=self.env,
            text=True,
            start_new_session=True,  # its own process group, so a timeout ends everything it started
        )
        self.pids.append(self.proc.pid)

    def _kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()

    def close(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.stdin.close()  # the worker ends when its input does
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._kill()


def read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


# -- the summary ----------------------------------------------------------------------------------------
def summarize(phases: dict) -> dict:
    """The figures the check exists for, pulled out of the phases, and which phases did not pass."""
    steps = lambda name: phases.get(name, {}).get("steps", {})  # noqa: E731
    vae = {p: steps("vae").get(f"train {p}", {}).get("seconds_per_60k_epoch") for p in ("fp32", "bf16")}
    speeds = {}
    for model in ("realnvp", "gan", "gammavae", "diffusion"):
        runs = {v: steps(model).get(f"train bf16 {v}", {}).get("images_per_second") for v in ("eager", "compile")}
        speeds[model] = runs
    tests = steps("cuda-tests").get("pytest -m cuda", {})
    return {
        "vae_seconds_per_60k_epoch": vae,
        "bf16_images_per_second": speeds,
        "cuda_tests": {k: tests.get(k) for k in ("passed", "failed", "errors", "skipped")},
        "not_ok": [name for name, entry in phases.items() if entry.get("status") not in ("ok", "skipped")],
    }


def describe(entry: dict) -> str:
    """A short tail for a phase's progress line: its error, its failed steps, or its headline figures."""
    steps = entry.get("steps", {})
    if entry.get("error"):
        return f": {entry['error']}"
    failed = [f"{name}: {step.get('error')}" for name, step in steps.items() if step.get("status") == "failed"]
    if failed:
        return " - " + "; ".join(failed)
    figures = []
    for name, step in steps.items():
        if step.get("seconds_per_60k_epoch") is not None:
            figures.append(f"{name} {step['seconds_per_60k_epoch']:.3g} s per 60k images")
        elif step.get("images_per_second") is not None:
            figures.append(f"{name} {step['images_per_second']:.4g} images/s")
        elif "passed" in step:
            figures.append(f"{step['passed']} passed, {step['failed']} failed, {step['skipped']} skipped")
    return (" - " + ", ".join(figures)) if figures else ""


if __name__ == "__main__":
    sys.exit(main())
