"""Choosing the learned-gamma VAE's optimisation settings on a Fashion-MNIST validation split.

Each candidate trains the paper's model (model ``gammavae``, unchanged) on Fashion-MNIST
training images for the same number of steps and is judged on the validation images only
(the 1,000 training images genkit holds out with a fixed seed; never a test split, never
MNIST): the negative ELBO there in bits per dimension (the bound genkit scores, lower is
better), its KL term, the mean squared error of the reconstructions, the learned gamma, and
whether the model collapsed onto the mean image (KL below 1 nat, or a reconstruction error
of at least 90% of the data's own variance around its mean image, 0.0863: what the mean
image alone achieves).

A candidate is ``NAME:key=value,key=value`` with keys from train (``lr``,
``batch_size``, ``epochs``, ``limit``) and model (``init_log_gamma``,
``gamma_lr_scale``, ``kappa``) settings::

    OMP_NUM_THREADS=1 uv run python benchmarks/gammavae_tuning.py --kappa 16 --limit 6400 --epochs 2 \\
        --candidate gamma-1:init_log_gamma=0 --candidate gamma-0.0067:init_log_gamma=-5 \\
        --json benchmarks/results/gammavae_tuning.json

Every candidate's row, one per epoch (steps, seconds, the validation terms), goes to the JSON.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import time
from pathlib import Path

import torch

import genkit

TRAIN_KEYS = {"lr", "batch_size", "epochs", "limit"}
MODEL_KEYS = {"init_log_gamma", "gamma_lr_scale", "kappa", "width", "latent_dim"}
#: Per-pixel variance of the dequantized Fashion-MNIST training images around their mean image.
MEAN_IMAGE_MSE = 0.0863
PIXELS = 784


def parse_candidate(text: str) -> tuple[str, dict[str, object]]:
    name, _, body = text.partition(":")
    settings: dict[str, object] = {}
    for item in filter(None, body.split(",")):
        key, _, raw = item.partition("=")
        if key not in TRAIN_KEYS | MODEL_KEYS:
            raise SystemExit(f"candidate {name}: unknown setting {key!r} (one of {sorted(TRAIN_KEYS | MODEL_KEYS)})")
        try:
            value: object = int(raw)
        except ValueError:
            try:
                value = float(raw)
            except ValueError:
                value = raw
        settings[key] = value
    return name, settings


def bits(nats: float) -> float:
    """A continuous negative ELBO of the dequantized image in nats -> bits per dimension of the 8-bit image."""
    return (nats + PIXELS * math.log(256)) / (PIXELS * math.log(2))


def train_candidate(name: str, settings: dict, args, out: Path) -> dict:
    train = {
        "train.dataset": "fashion-mnist",
        "train.epochs": args.epochs,
        "train.limit": args.limit or None,
        "train.val_size": 1000,
        "train.batch_size": 64,
        "train.lr": 1e-3,
        "train.seed": args.seed,
        "train.data_dir": args.data_dir,
        "train.grid_samples": 16,
    }
    model = {"kappa": args.kappa}
    for key, value in settings.items():
        if key in TRAIN_KEYS:
            train[f"train.{key}"] = value
        else:
            model[key] = value
    cpu = time.process_time()
    started = time.perf_counter()
    result = genkit.train(
        "gammavae",
        overrides=train,
        sets=[f"model.{k}={v}" for k, v in model.items()],
        out=out / name,
        reporter=genkit.Reporter(),
    )
    rows = []
    for row in result.metrics:
        val = row["val"]
        rows.append(
            {
                "epoch": row["epoch"],
                "train_seconds": row["seconds"],
                "val_neg_elbo_bpd": round(bits(val["neg_elbo"]), 4),
                "val_kl_nats": round(val["kl"], 3),
                "val_mse": round(val["mse"], 5),
                "gamma": round(val["gamma"], 6),
                "train_neg_elbo_bpd": round(bits(row["train"]["neg_elbo"]), 4),
            }
        )
    last = rows[-1]
    collapsed = last["val_kl_nats"] < 1.0 or last["val_mse"] >= 0.9 * MEAN_IMAGE_MSE
    record = {
        "candidate": name,
        "settings": {**{k.removeprefix("train."): v for k, v in train.items()}, **model},
        "steps": len(rows) * math.ceil((args.limit or 59_000) / train["train.batch_size"]),
        "wall_seconds": round(time.perf_counter() - started, 1),
        "cpu_seconds": round(time.process_time() - cpu, 1),
        "epochs": rows,
        "val_neg_elbo_bpd": last["val_neg_elbo_bpd"],
        "collapsed_onto_mean_image": collapsed,
    }
    print(json.dumps(record), flush=True)
    return record


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--candidate", action="append", required=True, help="NAME:key=value,key=value")
    p.add_argument("--kappa", type=int, default=16)
    p.add_argument("--limit", type=int, default=19_200, help="training images (of the 59,000 left after validation)")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--runs", type=Path, default=Path("runs/gammavae-tuning"), help="where the runs are written")
    p.add_argument("--json", type=Path, default=None, help="also write the records here")
    args = p.parse_args()

    candidates = [parse_candidate(c) for c in args.candidate]
    load_before = os.getloadavg()
    records = [train_candidate(name, settings, args, args.runs) for name, settings in candidates]
    print(f"\n{'candidate':<22}{'val bpd':>9}{'KL':>8}{'mse':>9}{'gamma':>10}  collapsed")
    for r in sorted(records, key=lambda r: r["val_neg_elbo_bpd"]):
        last = r["epochs"][-1]
        print(
            f"{r['candidate']:<22}{last['val_neg_elbo_bpd']:>9.3f}{last['val_kl_nats']:>8.1f}{last['val_mse']:>9.4f}"
            f"{last['gamma']:>10.5f}  {r['collapsed_onto_mean_image']}"
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        record = {
            "command": "benchmarks/gammavae_tuning.py",
            "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "threads": torch.get_num_threads(),
            "date": time.strftime("%Y-%m-%d"),
            "load_average_before": load_before,
            "load_average_after": os.getloadavg(),
            "max_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "candidates": records,
        }
        args.json.write_text(json.dumps(record, indent=2) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
