"""Preemption and the run's status, in one process: SIGUSR1 (a scheduler's warning) stops like
Ctrl-C, `train.checkpoint_every` saves mid-epoch, a crash is recorded, a dead writer's run reads as
stopped, and one run has one writer. tests/test_faults.py does the same with real processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

import genkit
from genkit.api import resolve_config
from genkit.checkpoint import read_metadata
from genkit.errors import ConfigError
from genkit.files import host_tag
from genkit.liveness import STALE_SECONDS, RunLock, RunLockedError, lock_run, run_status, unlock_runs
from genkit.training.trainer import TrainingInterrupted

OVERRIDES = {
    "train.epochs": 2,
    "train.batch_size": 64,
    "train.val_size": 64,
    "train.device": "cpu",
    "train.grid_samples": 4,
    "model.hidden": 16,
    "model.latent_dim": 2,
}


def train(tiny, quiet, out, on_step=None, **more):
    return genkit.train(
        "vae", overrides={"train.dataset": tiny, **OVERRIDES, **more}, out=out, reporter=quiet, on_step=on_step
    )


@pytest.mark.skipif(not hasattr(signal, "SIGUSR1"), reason="no SIGUSR1 here")
def test_sigusr1_stops_at_the_next_step_with_a_resumable_checkpoint(tiny, quiet, tmp_path):
    def warn_at_step_3(trainer):
        if trainer.progress.global_step == 3:
            os.kill(os.getpid(), signal.SIGUSR1)

    run = tmp_path / "run"
    with pytest.raises(TrainingInterrupted, match="interrupted by SIGUSR1 in epoch 1 at step 3"):
        train(tiny, quiet, run, warn_at_step_3)
    status = json.loads((run / "status.json").read_text())
    assert status["status"] == "interrupted" and status["signal"] == "SIGUSR1" and status["pid"] == os.getpid()
    assert read_metadata(run / "checkpoints" / "last.safetensors")["progress"]["step"] == 3
    assert genkit.train(resume=run, reporter=quiet).epochs == 2


def test_a_second_ctrl_c_aborts_at_once_and_the_run_reads_as_stopped(tiny, quiet, tmp_path):
    def press_twice(trainer):
        if trainer.progress.global_step == 2:
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(KeyboardInterrupt):
        train(tiny, quiet, tmp_path / "run", press_twice)
    status = json.loads((tmp_path / "run" / "status.json").read_text())
    assert status["status"] == "stopped" and "second Ctrl-C" in status["reason"]


def test_runs_started_in_the_same_second_get_directories_of_their_own(tmp_path, monkeypatch):
    from genkit.runs import Run

    monkeypatch.setenv("GENKIT_RUNS_DIR", str(tmp_path))
    monkeypatch.setattr(time, "strftime", lambda *a: "20261207-120000")
    first, second = Run.create("vae"), Run.create("vae")
    assert first.path.name == "vae-20261207-120000" and second.path.name == "vae-20261207-120000-2"


def test_checkpoint_every_saves_mid_epoch_and_is_checked(tiny, quiet, tmp_path):
    seen = []

    def look(trainer):
        path = trainer.run.last_checkpoint
        if path.is_file():
            seen.append(read_metadata(path)["progress"]["global_step"])

    train(tiny, quiet, tmp_path / "run", look, **{"train.checkpoint_every": 2})
    # 448 images in batches of 64: 7 steps an epoch; saved after steps 2, 4, 6, the epoch's end (7), 8...
    assert sorted(set(seen)) == [2, 4, 6, 7, 8, 10, 12]
    for bad, said in [("0", "at least 1"), ("'5 hours'", "give a number of steps"), ("true", "give a number")]:
        with pytest.raises(ConfigError, match=f"train.checkpoint_every: .*{said}"):
            resolve_config("vae", sets=[f"train.checkpoint_every={bad}"])
    assert resolve_config("vae", sets=["train.checkpoint_every=10min"])[2].checkpoint_interval() == (
        "minutes",
        10.0,
    )


def test_a_crash_is_recorded_and_listed(tiny, quiet, tmp_path, cli, monkeypatch):
    def crash(trainer):
        if trainer.progress.global_step == 2:
            raise RuntimeError("the device fell over")

    monkeypatch.setenv("GENKIT_RUNS_DIR", str(tmp_path))
    with pytest.raises(RuntimeError):
        train(tiny, quiet, tmp_path / "run", crash)
    status = json.loads((tmp_path / "run" / "status.json").read_text())
    assert status["status"] == "crashed" and status["reason"] == "the device fell over"
    code, out, _ = cli("runs", "--status", "crashed", "--json")
    assert code == 0 and [r["status"] for r in json.loads(out)] == ["crashed"]


def test_a_running_status_whose_writer_is_gone_reads_as_stopped():
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    now = time.time()
    here = {"status": "running", "host_tag": host_tag(), "heartbeat": now}
    assert run_status({**here, "pid": os.getpid()}) == "running"
    assert run_status({**here, "pid": dead.pid}) == "stopped"  # killed: its heartbeat is still fresh
    elsewhere = {"status": "running", "host_tag": "0" * 8, "pid": 1}
    assert run_status({**elsewhere, "heartbeat": now - 10}) == "running"
    assert run_status({**elsewhere, "heartbeat": now - STALE_SECONDS - 1}) == "stopped"
    assert run_status({"status": "finished", "pid": dead.pid}) == "finished"
    assert run_status({}) == "unknown"


def test_one_writer_per_run(tmp_path):
    (tmp_path / "run").mkdir()
    held = lock_run(tmp_path / "run")
    try:
        assert lock_run(tmp_path / "run") is held  # this process holds it already
        with pytest.raises(
            RunLockedError, match=f"being written by another genkit process \\(pid {os.getpid()}, since"
        ):
            RunLock(tmp_path / "run").acquire()  # a second writer (another open file, as another process has)
    finally:
        unlock_runs()
    RunLock(tmp_path / "run").acquire().release()  # the lock file stays; the lock is free


def test_scores_appended_at_once_are_all_kept(tmp_path):
    import threading

    from genkit.runs import Run

    run = Run(tmp_path)

    def score(worker: int) -> None:
        for k in range(5):
            run.append_score({"worker": worker, "k": k})

    threads = [threading.Thread(target=score, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    kept = run.read_json("scores.json", [])
    assert sorted((r["worker"], r["k"]) for r in kept) == [(w, k) for w in range(8) for k in range(5)]
