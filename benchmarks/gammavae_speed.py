"""Training speed of the learned-gamma VAE (model ``gammavae``) with each speed option, on this machine.

Every variant trains the same model (the paper's architecture: 64-128-256 channels,
latent 64, kappa 64 unless ``--kappa``) through genkit's own training loop on the
same Fashion-MNIST images. Round after round, each variant trains one short epoch
in turn (interleaved, so a shared machine's load falls on all of them alike); the
first epoch of each is a warm-up (compilation, allocator). Reported: the median
images per second of each variant and its ratio to the fp32 baseline, measured in
the same run.

  fp32            batch 64, the baseline
  bf16            bf16 autocast (train.precision=bf16)
  channels_last   the convolutions' weights and activations in NHWC memory order
  compile         train.compile (torch.compile of the objective, forward and backward)
  compile+cl      both
  batch128        batch 128 (per image: the rate of the same model on larger batches)
  batch256        batch 256

bf16 is emulated on a CPU without bf16 instructions and can be 20 times slower:
it trains ``--slow-images`` images per round so that it does not dominate the run.

    OMP_NUM_THREADS=1 uv run python benchmarks/gammavae_speed.py --rounds 5 \\
        --json benchmarks/results/gammavae_speed.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch

import genkit
from genkit.config import TrainConfig
from genkit.data import load_dataset
from genkit.data.datasets import ImageDataset
from genkit.device import describe_device
from genkit.plugins import get_plugin_manager
from genkit.runs import Run
from genkit.training.trainer import Trainer

#: name -> (train settings, channels_last)
VARIANTS: dict[str, tuple[dict, bool]] = {
    "fp32": ({}, False),
    "bf16": ({"precision": "bf16"}, False),
    "channels_last": ({}, True),
    "compile": ({"compile": True}, False),
    "compile+cl": ({"compile": True}, True),
    "batch128": ({"batch_size": 128}, False),
    "batch256": ({"batch_size": 256}, False),
}
SLOW = {"bf16"}


def first_images(data: ImageDataset, n: int) -> ImageDataset:
    return ImageDataset(
        name=data.name,
        train_x=data.train_x[:n],
        test_x=data.test_x[:1],
        train_y=None,
        test_y=None,
        num_classes=data.num_classes,
        source=data.source,
    )


def make_trainer(variant: str, data: ImageDataset, kappa: int, workdir: Path) -> Trainer:
    settings, channels_last = VARIANTS[variant]
    spec = get_plugin_manager().model("gammavae")
    cfg = TrainConfig(**{**spec.train_defaults, "val_size": 0, "device": "cpu", **settings})
    torch.manual_seed(cfg.seed)
    model = spec.build_model(spec.config_class()(kappa=kappa), data.info)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    run = Run(Path(tempfile.mkdtemp(dir=workdir)))
    return Trainer(model, cfg, data, run, torch.device("cpu"), {"model": "gammavae"}, genkit.Reporter())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--variants", nargs="*", default=list(VARIANTS), choices=list(VARIANTS))
    p.add_argument("--images", type=int, default=768, help="images per timed epoch (a multiple of 256)")
    p.add_argument("--slow-images", type=int, default=64, help="images per timed epoch of the emulated bf16 variant")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--kappa", type=int, default=64)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = p.parse_args()

    full = load_dataset("fashion-mnist", args.data_dir)
    load_before = os.getloadavg()
    rows: dict[str, list[float]] = {v: [] for v in args.variants}
    warmup: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        trainers = {}
        for v in args.variants:
            n = args.slow_images if v in SLOW else args.images
            trainers[v] = make_trainer(v, first_images(full, n), args.kappa, Path(tmp))
            started = time.perf_counter()
            trainers[v].run_epoch(0)
            warmup[v] = round(time.perf_counter() - started, 1)
            print(f"{v}: warm-up epoch {warmup[v]} s", flush=True)
        for r in range(args.rounds):
            for v in args.variants:
                rows[v].append(trainers[v].run_epoch(r + 1)["images_per_second"])
            print(f"round {r + 1}: " + ", ".join(f"{v} {rows[v][-1]:.1f}" for v in args.variants), flush=True)
    base = statistics.median(rows[args.variants[0]])
    results = {
        v: {
            "images_per_second_median": round(statistics.median(rows[v]), 2),
            "ratio_to_" + args.variants[0]: round(statistics.median(rows[v]) / base, 3),
            "per_round": rows[v],
            "warmup_seconds": warmup[v],
        }
        for v in args.variants
    }
    print(f"\n{'variant':<15}{'images/s':>10}{'ratio':>8}")
    for v, r in results.items():
        print(f"{v:<15}{r['images_per_second_median']:>10.1f}{r['ratio_to_' + args.variants[0]]:>8.2f}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        record = {
            "command": "benchmarks/gammavae_speed.py",
            "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "device": describe_device(torch.device("cpu")),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "load_average_before": load_before,
            "load_average_after": os.getloadavg(),
            "date": time.strftime("%Y-%m-%d"),
            "results": results,
        }
        args.json.write_text(json.dumps(record, indent=2) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
