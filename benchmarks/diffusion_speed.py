"""Diffusion speed on the CPU: training images per second of the default DDPM U-Net through
genkit's trainer, and sampling images per second with DDIM at 50 steps (and flow matching's
Euler at 50 steps, which costs the same network evaluations).

Training: one epoch over the first ``--images`` MNIST training images (batch 128), the rate the
trainer reports for the epoch's steps. Sampling: ``--samples`` images in one batch from the
EMA weights of a freshly built default model (the speed does not depend on the weights).

    OMP_NUM_THREADS=1 uv run python benchmarks/diffusion_speed.py --images 2560 --samples 64
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

import torch

import genkit
from genkit.training.reporting import Reporter


def head_of_mnist(n: int):
    """A dataset ``mnist-head``: the first ``n`` MNIST training images."""

    class Head:
        @genkit.hookimpl
        def register_datasets(self, register):
            def load(data_dir, arg=None):
                full = genkit.load_dataset("mnist", data_dir)
                return genkit.ImageDataset(
                    name="mnist-head",
                    train_x=full.train_x[:n],
                    train_y=full.train_y[:n],
                    test_x=full.test_x[:100],
                    test_y=full.test_y[:100],
                    num_classes=10,
                    source=full.source,
                )

            register(genkit.DatasetSpec("mnist-head", load, "first N MNIST training images"))

    return Head()


def training_rate(objective: str, root: str) -> float:
    result = genkit.train(
        "diffusion",
        overrides={
            "train.dataset": "mnist-head",
            "train.epochs": 1,
            "train.val_size": 0,
            "train.grid_samples": 1,
            "train.device": "cpu",
            "model.objective": objective,
            "model.sample_steps": 1,
        },
        out=f"{root}/{objective}",
        reporter=Reporter(),
    )
    return result.metrics[-1]["images_per_second"]


def sampling_rate(objective: str, sampler_name: str, n: int, steps: int) -> float:
    from genkit_diffusion.config import DiffusionConfig
    from genkit_diffusion.model import build
    from genkit_diffusion.samplers import DDIMSampler, EulerSampler

    model = build(DiffusionConfig(objective=objective), genkit.DataInfo("mnist", (1, 28, 28), 10)).eval()
    sampler = {"ddim": DDIMSampler, "euler": EulerSampler}[sampler_name]()
    with torch.no_grad():
        sampler.sample(model, 2, generator=torch.Generator().manual_seed(1), steps=2)  # warm-up
        start = time.perf_counter()
        sampler.sample(model, n, generator=torch.Generator().manual_seed(0), steps=steps)
        return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2560, help="training images (one epoch)")
    parser.add_argument("--samples", type=int, default=64, help="images sampled in one batch")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from genkit.plugins import get_plugin_manager

    get_plugin_manager().register_plugin(head_of_mnist(args.images), "mnist-head")
    with tempfile.TemporaryDirectory() as root:
        figures = {
            "threads": args.threads,
            "train_images_per_s_ddpm": round(training_rate("ddpm", root), 1),
            "train_images_per_s_flow_matching": round(training_rate("flow-matching", root), 1),
            f"sample_images_per_s_ddim{args.steps}": round(sampling_rate("ddpm", "ddim", args.samples, args.steps), 2),
            f"sample_images_per_s_euler{args.steps}": round(
                sampling_rate("flow-matching", "euler", args.samples, args.steps), 2
            ),
        }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
