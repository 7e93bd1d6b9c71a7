"""Training and sampling speed of this working tree against an earlier checkout, interleaved.

A check that a refactoring kept genkit as fast as it was. Each round runs one probe process
with the earlier checkout's Python, then one with this one (or the other way round, every
other round), so a shared machine's load falls on both alike; the report is each phase's
median seconds and the median of the per-round ratios after / before.

A probe trains one epoch of the VAE (2,048 images of the embedded MNIST subset, batch 64) and
of a small diffusion U-Net (256 images), then samples 256 VAE images and 8 DDIM images (20
steps) from those runs with ``genkit.sample``; each phase is timed inside the process (start-up
and imports are left out), on the CPU with one thread.

    git worktree add --detach ../before <commit> && (cd ../before && uv sync)
    uv run python benchmarks/speed_before_after.py --before ../before --rounds 5

``--after PATH`` compares another checkout (with its own environment) instead of this one.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PHASES = ("train_vae", "train_diffusion", "sample_vae", "sample_diffusion")
_SMALL_UNET = ["model.channels=8", "model.channel_mults=[1, 2]", "model.attention=false", "model.timesteps=100"]


def probe(root: Path) -> dict[str, float]:
    """Seconds of each phase, in this process (only genkit's public API, so any version runs it)."""
    import torch

    import genkit
    from genkit.data.sources import EMBEDDED_ROOT

    torch.set_num_threads(1)
    seconds: dict[str, float] = {}

    def train(model: str, images: int, sets: list[str]) -> Path:
        genkit.register_subset(f"head{images}", "mnist", train=images, test=256, data_dir=str(EMBEDDED_ROOT))
        overrides = {
            "train.dataset": f"head{images}",
            "train.epochs": 1,
            "train.seed": 7,
            "train.val_size": 128,
            "train.batch_size": 64,
            "train.device": "cpu",
            "train.grid_samples": 4,
        }
        start = time.perf_counter()
        genkit.train(model, overrides=overrides, sets=sets, out=root / model, reporter=genkit.Reporter())
        seconds[f"train_{model}"] = time.perf_counter() - start
        return root / model

    vae, diffusion = train("vae", 2048, []), train("diffusion", 256, _SMALL_UNET)
    for name, run, n, options in ((("vae", vae, 256, {})), ("diffusion", diffusion, 8, {"steps": 20})):
        loaded = genkit.load(run, "cpu")
        start = time.perf_counter()
        genkit.sample(loaded, n, out=root / f"{name}.png", device="cpu", **options)
        seconds[f"sample_{name}"] = time.perf_counter() - start
    return seconds


def _run_probe(python: str, cwd: Path) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as root:
        done = subprocess.run(
            [python, str(Path(__file__).resolve()), "--probe", root],
            cwd=cwd,
            capture_output=True,
            text=True,
            env={**os.environ, "OMP_NUM_THREADS": "1"},
        )
    if done.returncode:
        sys.exit(f"the probe failed in {cwd}:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _checkout(path: Path) -> tuple[str, Path]:
    """The Python of a checkout's own environment, and the checkout."""
    path = path.resolve()
    return str(path / ".venv" / "bin" / "python"), path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", type=Path, help="an earlier checkout with its own environment (.venv)")
    ap.add_argument("--after", type=Path, help="another checkout to compare instead of this one (its .venv)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--probe", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.probe:
        print(json.dumps(probe(args.probe)))
        return
    if args.before is None:
        ap.error("--before is required")
    here = (sys.executable, Path.cwd())
    sides = {"before": _checkout(args.before), "after": _checkout(args.after) if args.after else here}
    rows: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
    for i in range(args.rounds):
        for side in ("before", "after") if i % 2 == 0 else ("after", "before"):
            rows[side].append(_run_probe(*sides[side]))
            print(side, json.dumps({k: round(v, 3) for k, v in rows[side][-1].items()}), file=sys.stderr, flush=True)
    report = {}
    for phase in PHASES:
        b = [r[phase] for r in rows["before"]]
        a = [r[phase] for r in rows["after"]]
        report[phase] = {
            "median_s_before": round(statistics.median(b), 3),
            "median_s_after": round(statistics.median(a), 3),
            "median_ratio_after_over_before": round(statistics.median(x / y for x, y in zip(a, b, strict=True)), 3),
        }
    print(json.dumps({"rounds": args.rounds, "phases": report}, indent=1))


if __name__ == "__main__":
    main()
