"""Training throughput of each installed model with and without each speed option.

For every model and variant (fp32 baseline, torch.compile, bf16 and fp16
autocast where CUDA is present) this builds the model with its default config
and training settings, runs one warm-up epoch (compilation happens there), then
runs epochs round-robin over the variants, so that the load of a shared machine
falls on all of them alike, and reports the median images per second and
seconds per epoch, plus the time a full epoch of the dataset's whole training
split would take at that rate.

    uv run python benchmarks/throughput.py --help
    uv run python benchmarks/throughput.py --models vae --images 10000 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch

import genkit
from genkit.config import TrainConfig
from genkit.data import load_dataset
from genkit.data.datasets import ImageDataset
from genkit.device import describe_device, resolve_device
from genkit.plugins import get_plugin_manager
from genkit.runs import Run
from genkit.training.trainer import Trainer

CUDA_ONLY = {"bf16", "fp16", "bf16+compile"}
VARIANTS = {
    "fp32": {},
    "compile": {"compile": True},
    "bf16": {"precision": "bf16"},
    "fp16": {"precision": "fp16"},
    "bf16+compile": {"precision": "bf16", "compile": True},
}


def subset(data: ImageDataset, n: int | None) -> ImageDataset:
    if not n or n >= data.train_x.shape[0]:
        return data
    return ImageDataset(
        name=data.name,
        train_x=data.train_x[:n],
        test_x=data.test_x[:1],
        train_y=None if data.train_y is None else data.train_y[:n],
        test_y=None,
        num_classes=data.num_classes,
        source=data.source,
    )


def make_trainer(
    model_name: str, variant: dict, data: ImageDataset, device: torch.device, workdir: Path, batch_size: int | None
) -> Trainer:
    spec = get_plugin_manager().model(model_name)
    values = {**spec.train_defaults, "val_size": 0, "device": str(device), **variant}
    if batch_size:
        values["batch_size"] = batch_size
    cfg = TrainConfig(**values)
    torch.manual_seed(cfg.seed)
    model = spec.build_model(spec.config_class()(), data.info).to(device)
    run = Run(Path(tempfile.mkdtemp(dir=workdir)))
    meta = {"model": model_name, "data": {"name": data.name}}
    return Trainer(model, cfg, data, run, device, meta, genkit.Reporter())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default=None, help="comma-separated model names (default: every installed model)")
    parser.add_argument(
        "--variants",
        default=None,
        help=f"comma-separated, from {', '.join(VARIANTS)} (default: those the device supports)",
    )
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument(
        "--images", type=int, default=None, help="train on the first N images (default: the whole training split)"
    )
    parser.add_argument("--batch-size", type=int, default=None, help="default: each model's own")
    parser.add_argument("--rounds", type=int, default=3, help="timed epochs per variant (medians are reported)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for torch (default: torch's choice)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args()

    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    pm = get_plugin_manager()
    models = args.models.split(",") if args.models else pm.registries["models"].names()
    variants = (
        args.variants.split(",")
        if args.variants
        else [v for v in VARIANTS if device.type == "cuda" or v not in CUDA_ONLY]
    )
    skipped = [v for v in variants if v in CUDA_ONLY and device.type != "cuda"]
    variants = [v for v in variants if v not in skipped]
    full = load_dataset(args.dataset, args.data_dir)
    data = subset(full, args.images)
    n_full = full.train_x.shape[0]
    print(
        f"device {describe_device(device)}; {args.dataset}: {data.train_x.shape[0]} of {n_full} training "
        f"images; torch {torch.__version__}"
    )
    if skipped:
        print(f"not measured here (need a CUDA GPU): {', '.join(skipped)}")

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for model_name in models:
            trainers = {}
            for v in variants:
                started = time.perf_counter()
                trainers[v] = make_trainer(model_name, VARIANTS[v], data, device, Path(tmp), args.batch_size)
                trainers[v].run_epoch(0)  # warm-up: compilation, allocator, caches
                print(f"  {model_name}/{v}: warm-up epoch {time.perf_counter() - started:.1f}s", flush=True)
            rows: dict[str, list[dict]] = {v: [] for v in variants}
            for r in range(args.rounds):
                for v in variants:
                    rows[v].append(trainers[v].run_epoch(r + 1))
            base = statistics.median(row["images_per_second"] for row in rows[variants[0]])
            for v in variants:
                ips = statistics.median(row["images_per_second"] for row in rows[v])
                sec = statistics.median(row["seconds"] for row in rows[v])
                loss = rows[v][-1]["train"]
                results.append(
                    {
                        "model": model_name,
                        "variant": v,
                        "images_per_second": round(ips, 1),
                        "epoch_seconds": round(sec, 3),
                        "full_epoch_seconds": round(n_full / ips, 2),
                        "speedup": round(ips / base, 3),
                        "final_train_terms": loss,
                    }
                )
            del trainers

    print(f"\n{'model':<14}{'variant':<14}{'images/s':>10}{'s/epoch':>10}{'s/full epoch':>14}{'vs fp32':>9}")
    for r in results:
        print(
            f"{r['model']:<14}{r['variant']:<14}{r['images_per_second']:>10.0f}{r['epoch_seconds']:>10.2f}{r['full_epoch_seconds']:>14.2f}{r['speedup']:>9.2f}"
        )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "device": describe_device(device),
                    "images": data.train_x.shape[0],
                    "results": results,
                    "not_measured": skipped,
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
