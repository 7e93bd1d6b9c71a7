"""Ctrl-C during training: a real SIGINT to a `genkit train` process."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_saves_a_resumable_checkpoint_and_says_how_to_resume(tmp_path):
    env = {**os.environ, "GENKIT_DATA_DIR": "", "GENKIT_CACHE_DIR": str(tmp_path / "cache"), "GENKIT_OFFLINE": "1"}
    env.pop("GENKIT_DATA_DIR")
    run_dir = tmp_path / "run"
    cmd = [
        sys.executable,
        "-m",
        "genkit",
        "train",
        "vae",
        "--epochs",
        "50",
        "--device",
        "cpu",
        "--out",
        str(run_dir),
        "--set",
        "train.val_size=500",
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 240
    while not (run_dir / "status.json").is_file():  # training has started and handles Ctrl-C
        assert proc.poll() is None, proc.stderr.read()
        assert time.time() < deadline, "training did not start in time"
        time.sleep(0.2)
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    text = " ".join((out + err).split())
    assert proc.returncode == 1, text
    assert "Traceback" not in text
    assert "Resume with: genkit train vae --resume" in text
    assert json.loads((run_dir / "status.json").read_text())["status"] == "interrupted"
    assert (run_dir / "checkpoints" / "last.safetensors").is_file()
    resumed = subprocess.run(
        [sys.executable, "-m", "genkit", "info", str(run_dir), "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    info = json.loads(resumed.stdout)
    assert info["interrupted"] is True and info["progress"]["global_step"] >= 1
