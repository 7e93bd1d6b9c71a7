"""Where a training step of `genkit train vae` spends its time: torch.profiler over steps of
genkit's own loop (after warm-up steps), operators by their own CPU time.

The step is genkit's: its trainer, the VAE plugin's objective and genkit's fused Adam; the
profile starts after ``--warmup`` steps and covers ``--steps`` steps, each marked with
``profiler.step()`` from the trainer's per-step callback.

    uv run python benchmarks/vae_profile.py --data-dir ../shared/data --warmup 20 --steps 50
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile, schedule

import genkit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--rows", type=int, default=25)
    args = parser.parse_args()
    images = 128 * (args.warmup + args.steps + 1)
    with (
        tempfile.TemporaryDirectory() as workdir,
        profile(
            activities=[ProfilerActivity.CPU],
            schedule=schedule(wait=args.warmup, warmup=1, active=args.steps, repeat=1),
        ) as prof,
    ):
        genkit.train(
            "vae",
            overrides={
                "train.data_dir": str(Path(args.data_dir).resolve()),
                "train.epochs": 1,
                "train.val_size": 0,
                "train.device": "cpu",
                "train.limit": images,
            },
            out=Path(workdir) / "vae",
            reporter=genkit.Reporter(),
            on_step=lambda trainer: prof.step(),
        )
    table = prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=args.rows)
    print(f"{args.steps} steps of batch 128 after {args.warmup} warm-up steps, {torch.get_num_threads()} threads")
    print(table)


if __name__ == "__main__":
    main()
