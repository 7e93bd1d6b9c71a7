"""Training throughput (images per second) of the realnvp flow's configurations.

Each configuration takes one optimizer step in turn on the same MNIST batch, so
load from other jobs on the machine falls on all of them alike; the median step
time of each gives its images per second.

    uv run python benchmarks/realnvp_throughput.py --data-dir ../shared/data --threads 1
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from genkit_realnvp.config import RealNVPConfig
from genkit_realnvp.model import RealNVP

import genkit

CONFIGS = {
    "default (realnvp, hidden 32, 1 res block, 2+2 couplings per scale)": {},
    "glow, hidden 32, 1 res block, 4 steps per scale": {"step": "glow", "glow_steps": 4},
    "realnvp, hidden 64, 1 res block, 2+2 couplings per scale": {"hidden": 64},
    "realnvp, hidden 64, 2 res blocks, 3+3 couplings per scale": {
        "hidden": 64,
        "res_blocks": 2,
        "checkerboard_couplings": 3,
        "channel_couplings": 3,
    },
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=None, help="directory with MNIST (default: GENKIT_DATA_DIR)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=7, help="steps timed per configuration")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: PyTorch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    x = genkit.load_dataset("mnist", args.data_dir).train_x[: args.batch_size]
    info = genkit.DataInfo("mnist", (1, 28, 28), 10)
    runs = {}
    for name, overrides in CONFIGS.items():
        torch.manual_seed(0)
        model = RealNVP(RealNVPConfig(**overrides), info)
        model.on_train_start(model.prepare_batch(genkit.Batch(x=x)))
        runs[name] = (model, model.configure_optimizers(1e-3)["model"], [])
    for _ in range(args.rounds + 1):  # the first round warms up and is dropped
        for model, opt, times in runs.values():
            started = time.perf_counter()
            batch = model.prepare_batch(genkit.Batch(x=x))
            opt.zero_grad(set_to_none=True)
            model.bits_per_dim(batch).loss.backward()
            opt.step()
            times.append(time.perf_counter() - started)
    print(f"torch threads: {torch.get_num_threads()}, batch {args.batch_size}, median of {args.rounds} steps")
    for name, (model, _, times) in runs.items():
        params = sum(p.numel() for p in model.parameters())
        print(f"{args.batch_size / statistics.median(times[1:]):8.1f} images/s  {params:>9,d} params  {name}")


if __name__ == "__main__":
    main()
