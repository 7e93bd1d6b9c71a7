"""One epoch of each built-in model on the first images of the embedded MNIST subset under a fixed
seed: the logged terms.

A check that a refactoring keeps training exactly as it was: run it before and after and
compare the printed JSON (the terms must match to the last digit unless a change explains it).

    OMP_NUM_THREADS=1 uv run python benchmarks/epoch_losses.py --images 1024 > before.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile

import torch

import genkit
from genkit.data.sources import EMBEDDED_ROOT

_SMALL_UNET = ["model.channels=8", "model.channel_mults=[1, 2]", "model.attention=false"]
MODELS = {
    "vae": [],
    "cvae": ["model.condition=label"],
    "gammavae": [],
    "realnvp": [],
    "regressor": [],
    "gan": [],
    "gan-dcgan": ["model.architecture=dcgan"],
    "gan-conditional": ["model.conditional=true", "model.d_steps=2"],
    # A small U-Net, so the epoch (and its DDIM/Euler sample grids) takes seconds.
    "diffusion": [*_SMALL_UNET, "model.timesteps=100"],
    "diffusion-flow": [*_SMALL_UNET, "model.objective=flow-matching"],
    "diffusion-conditional": [*_SMALL_UNET, "model.timesteps=100", "model.conditional=true"],
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=1024)
    ap.add_argument("--models", nargs="*", default=list(MODELS))
    args = ap.parse_args()
    torch.set_num_threads(1)
    genkit.register_subset("head", "mnist", train=args.images, test=256, data_dir=str(EMBEDDED_ROOT))
    out = {}
    with tempfile.TemporaryDirectory() as root:
        for key in args.models:
            name = key.split("-")[0]
            result = genkit.train(
                name,
                overrides={
                    "train.dataset": "head",
                    "train.epochs": 1,
                    "train.seed": 7,
                    "train.val_size": 128,
                    "train.grid_samples": 4,
                    "train.batch_size": 64,
                    "train.device": "cpu",
                },
                sets=MODELS[key],
                out=f"{root}/{key}",
                reporter=genkit.Reporter(),
            )
            row = result.metrics[-1]
            out[key] = {"train": row["train"], "val": row["val"]}
            print(key, json.dumps(out[key]), file=sys.stderr, flush=True)
    print(json.dumps(out, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
