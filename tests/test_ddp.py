"""Acceptance test of data-parallel training: 2 processes under torchrun (gloo,
CPU) against 1 process with the same global batch.

Deselect with ``-m "not torchrun"``; it skips itself where torch has no gloo
backend or torchrun cannot start.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist

import genkit
from genkit.checkpoint import load_checkpoint

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import write_bars  # noqa: E402
from ddp_plugins import register_all  # noqa: E402
from ema_record import RUN as EMA_RUN  # noqa: E402
from ema_record import direct_ema, read_rank  # noqa: E402

pytestmark = pytest.mark.torchrun

BASE = ["--dataset", "tiny", "--batch-size", "64", "--device", "cpu", "--set", "train.val_size=85"]
COMMON = [*BASE, "--epochs", "2"]
RUNS = {
    "vae": ["train", "vae", *COMMON, "--set", "model.hidden=64", "--log", "tensorboard"],
    "two-player": ["train", "two-player", *COMMON, "--set", "train.lr=0.003"],
}
# The real GAN trains under two processes too, and a 2-rank VAE run stopped after one
# epoch and resumed under 2 ranks must end where the straight 2-rank run does. The GAN's
# generator loss runs the discriminator on the fake batch its (repeated) discriminator
# step carried over; DDP runs it without find_unused_parameters (a parameter left without
# a gradient would stop the next step with a reduction error).
GAN = ["train", "gan", *COMMON, "--set", "model.d_steps=2"]
RESUMED = "ddp-resumed"
CUT = ["train", "vae", *BASE, "--epochs", "1", "--set", "model.hidden=64", "--out"]
# The two-player model has no randomness after its initialisation, so 2 ranks must
# follow 1 process up to float rounding in the gradient all-reduce.
DETERMINISTIC_RTOL = 1e-3
# The VAE draws its binarization and reparameterization noise from each rank's own
# stream, so the runs differ as two noise streams do: the per-epoch mean of its loss
# (the negative ELBO, about 500 nats here) within 3%. Its small parts (a KL under
# 2 nats two epochs in) are not compared: noise moves them by tens of percent.
STOCHASTIC_RTOL = 0.03
COMPARED = {"vae": ["neg_elbo"], "two-player": None}  # None: every logged term


def _torchrun(tmp_path: Path, commands: list[list[str]]) -> subprocess.CompletedProcess:
    if not (dist.is_available() and dist.is_gloo_available()):
        pytest.skip("torch.distributed with gloo is not available")
    env = {**os.environ, "GENKIT_RUNS_DIR": str(tmp_path / "ddp-runs"), "OMP_NUM_THREADS": "1"}
    worker = Path(__file__).resolve().parent / "ddp_worker.py"
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc-per-node",
        "2",
        str(worker),
        json.dumps(commands),
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0 and ("rendezvous" in proc.stderr.lower() and "error" in proc.stderr.lower()):
        pytest.skip(f"torchrun could not start here: {proc.stderr.strip().splitlines()[-1]}")
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc


def _epoch_terms(metrics, part, keys=None):
    return [[row[part][k] for k in (keys or sorted(row[part]))] for row in metrics]


def test_two_ranks_match_one_process_and_checkpoint_loads_on_one(tmp_path, quiet):
    _torchrun(
        tmp_path,
        [
            *RUNS.values(),
            GAN,
            [*CUT, str(tmp_path / RESUMED)],
            ["train", "--resume", str(tmp_path / RESUMED), "--epochs", "2"],
            {"ema": str(tmp_path), "dataset": write_bars(tmp_path / "bars")},
        ],
    )
    # The diffusion EMA, updated after each optimizer step, is the same on both ranks, bit for
    # bit, and the average of exactly the weights of those steps.
    (ema0, states0), (ema1, states1) = (read_rank(tmp_path / f"ema-rank{r}.safetensors") for r in (0, 1))
    assert len(states0) >= 1 + 3  # the starting weights, then one state per optimizer step
    assert all(torch.equal(a, b) for a, b in zip(ema0, ema1))
    assert all(torch.equal(a, b) for s0, s1 in zip(states0, states1) for a, b in zip(s0, s1))
    assert all(torch.equal(a, b) for a, b in zip(ema0, direct_ema(states0, EMA_RUN["model.ema_decay"])))
    register_all()
    runs_root = tmp_path / "ddp-runs"
    for name, argv in RUNS.items():
        made = [d for d in runs_root.iterdir() if d.name.startswith(name + "-")]
        assert len(made) == 1, (
            f"expected one run directory for {name}, got {made}"
        )  # rank 0 made it, rank 1 used its path
        ddp_run = made[0]
        ddp_metrics = [json.loads(line) for line in (ddp_run / "metrics.jsonl").read_text().splitlines()]
        assert [row["epoch"] for row in ddp_metrics] == [1, 2]
        assert all(torch.isfinite(torch.tensor(list(row["train"].values()))).all() for row in ddp_metrics)
        ckpt = load_checkpoint(ddp_run / "checkpoints" / "last.safetensors")
        assert ckpt.meta["world_size"] == 2
        assert {k.split("/")[2] for k in ckpt.tensors if k.startswith("state/rng/rank")} == {"rank0", "rank1"}
        assert not any(k.startswith("model/module.") for k in ckpt.tensors)
        if "--log" in argv:  # loggers run on rank 0 only: one event file, each epoch once
            from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

            assert len(list((ddp_run / "tensorboard").glob("events.out.tfevents.*"))) == 1
            events = EventAccumulator(str(ddp_run / "tensorboard"))
            events.Reload()
            assert [e.step for e in events.Scalars("val/neg_elbo")] == [1, 2]

        # The same global batch in one process.
        sets = [argv[i + 1] for i, a in enumerate(argv) if a == "--set"]
        single = genkit.train(
            name,
            overrides={"train.dataset": "tiny", "train.epochs": 2, "train.batch_size": 64, "train.device": "cpu"},
            sets=sets,
            out=tmp_path / f"single-{name}",
            reporter=quiet,
        )
        rtol = DETERMINISTIC_RTOL if name == "two-player" else STOCHASTIC_RTOL
        for part in ("train", "val"):
            got = torch.tensor(_epoch_terms(ddp_metrics, part, COMPARED[name]))
            want = torch.tensor(_epoch_terms(single.metrics, part, COMPARED[name]))
            assert torch.allclose(got, want, rtol=rtol, atol=0), (
                f"{name} {part}: 2 ranks {got.tolist()} vs 1 process {want.tolist()}"
            )
        ddp_weights = ckpt.group("model")
        single_weights = load_checkpoint(single.run.last_checkpoint).group("model")
        assert ddp_weights.keys() == single_weights.keys()
        if name == "two-player":  # no noise: the weights themselves agree up to all-reduce rounding
            for k, v in ddp_weights.items():
                assert torch.allclose(v, single_weights[k], rtol=1e-3, atol=1e-5), k
        else:  # each rank draws its own noise (their RNG streams differ), so the weights differ too
            assert not torch.equal(ckpt.tensors["state/rng/rank0/cpu"], ckpt.tensors["state/rng/rank1/cpu"])
            assert any(not torch.equal(v, single_weights[k]) for k, v in ddp_weights.items())

        # The 2-rank checkpoint loads, and resumes, in this single process.
        loaded = genkit.load(ddp_run, device="cpu")
        assert sum(p.numel() for p in loaded.model.parameters()) > 0
        resumed = genkit.train(resume=ddp_run, overrides={"train.epochs": 3}, reporter=quiet)
        assert [row["epoch"] for row in resumed.metrics] == [1, 2, 3]

        if (
            name == "vae"
        ):  # a 2-rank run cut after one epoch and resumed under 2 ranks ends bit for bit where this one does
            cut = load_checkpoint(tmp_path / RESUMED / "checkpoints" / "last.safetensors")
            assert cut.meta["progress"]["epoch"] == 2 and cut.meta["world_size"] == 2
            for k, v in ddp_weights.items():
                assert torch.equal(v, cut.group("model")[k]), k

    # The real GAN under two processes: both players trained, one run directory, rank 1's RNG saved.
    gan_runs = [d for d in runs_root.iterdir() if d.name.startswith("gan-")]
    assert len(gan_runs) == 1
    gan = load_checkpoint(gan_runs[0] / "checkpoints" / "last.safetensors")
    assert gan.meta["world_size"] == 2 and set(gan.meta["optimizers"]) == {"discriminator", "generator"}
    assert "state/rng/rank1/cpu" in gan.tensors
    gan_rows = [json.loads(line) for line in (gan_runs[0] / "metrics.jsonl").read_text().splitlines()]
    assert [row["epoch"] for row in gan_rows] == [1, 2]
    assert all(torch.isfinite(torch.tensor(v)) for row in gan_rows for v in row["train"].values())
    assert genkit.load(gan_runs[0], device="cpu").model.decode(torch.randn(2, 100)).shape == (2, 1, 28, 28)
