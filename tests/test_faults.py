"""Faults, through the installed ``genkit`` script as a user, a scheduler or a crash meets them.

SIGTERM, SIGINT and SIGKILL at seeded random moments of a run, then ``--resume``: the result is
bit for bit that of a run never interrupted. A second writer of a run is refused in one line, a
killed run shows as stopped, a full disk (a small tmpfs, where this machine lets the test mount
one) is genkit's own line naming the file and the last good checkpoint, and a read-only run still
prints its scores. A plugin raising KeyboardInterrupt at import is broken like any other.

The runs train ``paced`` (tests/fault_plugin.py, installed with an entry point into a private site
directory): every step waits ``model.pause`` seconds, so training lasts long enough for a signal
sent at a random moment to land mid-run whatever the machine's load. Processes that can run at
the same time do, to keep the suite's wall time low.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from safetensors.torch import load_file

from genkit.checkpoint import load_checkpoint, read_metadata

HERE = Path(__file__).resolve().parent
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

STEPS_PER_EPOCH = 14  # (512 - 64) images in batches of 32
PAUSE = 0.05  # seconds per step: 3 epochs take at least 2.1 s of steps
TRAIN = [
    "train", "paced", "--dataset", "tiny", "--device", "cpu", "--epochs", "3", "--batch-size", "32", "--seed", "3",
    "--set", "train.val_size=64", "--set", f"model.pause={PAUSE}", "--set", "train.checkpoint_every=5",
]  # fmt: skip
SEED = 33  # of the moments the signals are sent


def install(site: Path, name: str, module: str, source: str) -> None:
    """``module`` (with ``source`` as its code) installed into ``site`` with a ``genkit`` entry point."""
    site.mkdir(parents=True, exist_ok=True)
    (site / f"{module}.py").write_text(source)
    info = site / f"genkit_{name}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: genkit-{name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[genkit]\n{name} = {module}\n")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The environment of every process: the fault plugin installed, private runs and cache."""
    root = tmp_path_factory.mktemp("faults")
    install(root / "site", "faults", "fault_plugin", (HERE / "fault_plugin.py").read_text())
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(root / "site"), os.environ.get("PYTHONPATH")])),
        "GENKIT_RUNS_DIR": str(root / "runs"),
        "GENKIT_CACHE_DIR": str(root / "cache"),
        "GENKIT_OFFLINE": "1",
        "OMP_NUM_THREADS": "1",  # the same arithmetic in every process, so runs can match bit for bit
    }
    env.pop("GENKIT_PLUGINS", None)
    return root, env


def genkit_script() -> list[str]:
    script = Path(sys.executable).with_name("genkit")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "genkit"]


def start(world, *args) -> subprocess.Popen:
    _, env = world
    cmd = [*genkit_script(), *map(str, args)]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen, timeout: float = 240) -> tuple[int, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, " ".join((out + err).split())


def run(world, *args, timeout: float = 240) -> tuple[int, str]:
    return finish(start(world, *args), timeout)


def error_line(text: str) -> str:
    assert "Traceback" not in text and "error:" in text, text
    return text[text.index("error:") :]


def wait_for(condition, proc: subprocess.Popen, what: str, timeout: float = 180) -> None:
    deadline = time.time() + timeout
    while not condition():
        if proc.poll() is not None:
            raise AssertionError(f"genkit ended before {what}: {finish(proc)}")
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def status_of(run_dir: Path) -> dict:
    try:
        return json.loads((run_dir / "status.json").read_text())
    except (OSError, ValueError):
        return {}


def trained_state(run_dir: Path) -> tuple[dict, list]:
    """The final weights and optimizer state, and every epoch's training and validation terms."""
    tensors = load_file(str(run_dir / "checkpoints" / "last.safetensors"))
    kept = {k: v for k, v in tensors.items() if k.startswith(("model/", "optim/"))}
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return kept, [(r["epoch"], r["train"], r["val"]) for r in rows]


def assert_identical(run_dir: Path, reference: Path) -> None:
    (weights, metrics), (ref_weights, ref_metrics) = trained_state(run_dir), trained_state(reference)
    assert metrics == ref_metrics
    assert weights.keys() == ref_weights.keys()
    for key in weights:
        assert weights[key].dtype == ref_weights[key].dtype and weights[key].equal(ref_weights[key]), key


@pytest.fixture(scope="module")
def interrupted(world):
    """An uninterrupted reference run, and runs stopped by SIGTERM, SIGINT and SIGKILL at seeded random
    moments and then resumed; all started together. Returns (reference, {signal: (run, stop text, resume
    text, status between)}), and the output of a second writer refused while a long run held its run."""
    root = world[0] / "runs"  # where `genkit runs` looks
    rng = random.Random(SEED)
    reference = root / "reference"
    procs = {"reference": start(world, *TRAIN, "--out", reference)}
    victims = {}
    for sig in ("SIGTERM", "SIGINT", "SIGKILL"):
        victims[sig] = root / sig.lower()
        procs[sig] = start(world, *TRAIN, "--out", victims[sig])
    long_run = root / "long"  # holds its run (at least 3 minutes of steps) while a second writer tries it
    procs["long"] = start(world, *TRAIN, "--epochs", "5", "--set", "model.pause=3", "--out", long_run)
    try:
        return _interrupt_and_resume(world, rng, procs, reference, victims, long_run)
    finally:
        for proc in procs.values():  # nothing is left running, whatever failed
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def _interrupt_and_resume(world, rng, procs, reference, victims, long_run):
    # Each victim gets its signal a random time (at most 1.2 s: training takes at least 2.1 s) after it
    # is ready: training (status running), or for SIGKILL, which saves nothing, a periodic checkpoint.
    delays = {sig: rng.uniform(0.0, 1.2) for sig in victims}
    ready: dict[str, float] = {}
    deadline = time.time() + 600  # generous: a loaded machine starts five processes slowly
    sent: set[str] = set()
    while len(sent) < len(victims):
        assert time.time() < deadline, f"the runs did not start in time: {ready}"
        for sig, run_dir in victims.items():
            if sig in sent:
                continue
            assert procs[sig].poll() is None, f"{sig} run ended before its signal: {finish(procs[sig])}"
            if sig not in ready:
                is_ready = (
                    (run_dir / "checkpoints" / "last.safetensors").is_file()
                    if sig == "SIGKILL"
                    else status_of(run_dir).get("status") == "running"
                )
                if is_ready:
                    ready[sig] = time.time()
            elif time.time() >= ready[sig] + delays[sig]:
                procs[sig].send_signal(getattr(signal, sig))
                sent.add(sig)
        time.sleep(0.02)
    stopped = {sig: finish(procs[sig]) for sig in victims}
    between = {sig: status_of(run_dir).get("status") for sig, run_dir in victims.items()}
    for sig, run_dir in victims.items():  # where each landed (docs/reliability.md quotes it; see pytest -s)
        progress = read_metadata(run_dir / "checkpoints" / "last.safetensors")["progress"]
        assert progress["global_step"] < 3 * STEPS_PER_EPOCH  # mid-run, so the resume has work to do
        print(f"{sig} sent {delays[sig]:.2f} s after ready; resumes from {progress}")
    wait_for(lambda: status_of(long_run).get("status") == "running", procs["long"], "the long run")
    second = run(world, "train", "--resume", long_run, "--epochs", "6")
    runs_listed = run(world, "runs", "--json")
    procs["long"].send_signal(signal.SIGTERM)
    finish(procs["long"])
    resumed = {sig: start(world, "train", "--resume", run_dir) for sig, run_dir in victims.items()}
    procs.update({f"resumed {sig}": proc for sig, proc in resumed.items()})
    reference_done = finish(procs["reference"])
    assert reference_done[0] == 0, reference_done[1]
    results = {sig: (victims[sig], stopped[sig], finish(proc), between[sig]) for sig, proc in resumed.items()}
    return reference, results, second, runs_listed


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT"])
def test_a_stop_signal_saves_a_checkpoint_and_the_resumed_run_matches_bit_for_bit(interrupted, sig):
    reference, results, _, _ = interrupted
    run_dir, (code, text), (resumed_code, resumed_text), status = results[sig]
    assert code == 1 and "Resume with: genkit train paced --resume" in error_line(text), text
    if sig == "SIGTERM":
        assert "interrupted by SIGTERM" in text
    assert status == "interrupted"
    assert resumed_code == 0, resumed_text
    assert_identical(run_dir, reference)
    assert status_of(run_dir)["status"] == "finished"


def test_a_killed_run_shows_as_stopped_and_resumes_from_its_last_checkpoint_bit_for_bit(interrupted, world):
    reference, results, _, (code, listed) = interrupted
    run_dir, (killed_code, _), (resumed_code, resumed_text), status = results["SIGKILL"]
    assert killed_code == -signal.SIGKILL and status == "running"  # what the dead process left
    assert code == 0
    shown = {Path(r["path"]).name: r["status"] for r in json.loads(listed[listed.index("[") :])}
    assert shown["sigkill"] == "stopped" and shown["long"] == "running"
    assert resumed_code == 0, resumed_text
    assert_identical(run_dir, reference)
    assert not [p for p in (run_dir / "checkpoints").iterdir() if p.name.endswith(".tmp")]


def test_a_second_writer_is_refused_in_one_line(interrupted, world):
    _, _, (code, text), _ = interrupted
    assert code == 1 and "is being written by another genkit process (pid" in error_line(text)


def test_a_plugin_raising_keyboard_interrupt_at_import_breaks_only_itself(world, tmp_path):
    _, env = world
    install(tmp_path / "site", "ctrlc", "ctrlc_plugin", "raise KeyboardInterrupt\n")
    env = {**env, "PYTHONPATH": os.pathsep.join([str(tmp_path / "site"), env["PYTHONPATH"]])}
    helped = subprocess.run([*genkit_script(), "--help"], env=env, capture_output=True, text=True, timeout=120)
    assert helped.returncode == 0 and "train" in helped.stdout
    listed = subprocess.run(
        [*genkit_script(), "plugins", "--json"], env=env, capture_output=True, text=True, timeout=120
    )
    plugins = {p["name"]: p for p in json.loads(listed.stdout)}
    assert plugins["ctrlc"]["status"] == "broken" and "KeyboardInterrupt" in plugins["ctrlc"]["error"]
    assert plugins["faults"]["status"] == "ok"


DISK_SCRIPT = """
set -u
mount -t tmpfs -o size={size} tmpfs "$MNT" || exit 99
{genkit} train vae --dataset tiny --device cpu --epochs 3 --set model.hidden=64 --set model.latent_dim=2 \\
    --set train.val_size=64 --set train.grid_samples=4 --out "$MNT/run" > "$OUT/train.txt" 2>&1
echo $? > "$OUT/train.rc"
cp -a "$MNT/run" "$OUT/run"
mount -o remount,ro "$MNT"
{genkit} score "$MNT/run" -m elbo --limit 32 --device cpu > "$OUT/score.txt" 2>&1
echo $? > "$OUT/score.rc"
{genkit} sample "$MNT/run" -n 4 --device cpu > "$OUT/sample.txt" 2>&1
echo $? > "$OUT/sample.rc"
"""


def test_a_full_disk_and_a_read_only_run(world, tmp_path):
    """In a mount namespace of its own (unshare), a 3 MiB tmpfs holds the first epoch's two checkpoints
    (1.2 MB each) but not the second epoch's; then it is remounted read-only."""
    _, env = world
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("unshare (util-linux) is not installed, so no tmpfs can be mounted for the test")
    mnt, out = tmp_path / "mnt", tmp_path / "out"
    mnt.mkdir()
    out.mkdir()
    script = DISK_SCRIPT.format(size="3m", genkit=" ".join(genkit_script()))
    proc = subprocess.run(
        [unshare, "--map-root-user", "--mount", "sh", "-c", script],
        env={**env, "MNT": str(mnt), "OUT": str(out)},
        capture_output=True,
        text=True,
        timeout=400,
    )
    if proc.returncode == 99 or not (out / "train.rc").is_file():
        pytest.skip(f"cannot mount a tmpfs here (unshare --map-root-user --mount): {proc.stderr.strip()[-300:]}")
    text = lambda name: " ".join((out / name).read_text().split())  # noqa: E731
    last = mnt / "run" / "checkpoints" / "last.safetensors"
    assert (out / "train.rc").read_text().strip() == "1"
    assert (
        f"error: could not write {last}: No space left on device; the last good checkpoint is {last} "
        "(epoch 1 done), intact"
    ) in text("train.txt")
    assert "Traceback" not in text("train.txt") and "SafetensorError" not in text("train.txt")
    copy = out / "run"
    assert not [p for p in (copy / "checkpoints").iterdir() if p.name.endswith(".tmp")]
    assert json.loads((copy / "status.json").read_text())["status"] == "crashed"
    assert load_checkpoint(copy / "checkpoints" / "last.safetensors").meta["progress"]["epoch"] == 1  # whole
    # read-only: the score is printed, with the line saying it was not saved; sample points to --out
    assert (out / "score.rc").read_text().strip() == "0"
    assert "neg_elbo" in text("score.txt") and "were not saved: could not write" in text("score.txt")
    assert "Read-only file system" in text("score.txt")
    assert (out / "sample.rc").read_text().strip() == "1"
    assert "Read-only file system; write the picture elsewhere with --out FILE" in error_line(text("sample.txt"))
