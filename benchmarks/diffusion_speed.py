"""Diffusion speed on the CPU: training images per second of the default DDPM U-Net through
genkit's trainer, and sampling images per second with DDIM at 50 steps (and flow matching's
Euler at 50 steps, which costs the same network evaluations). Training is measured in fp32 and
with bf16 autocast (``--precision bf16``), sampling with the U-Net's weights channels-last, as
the plugin keeps them, and contiguous; each pair alternates, so its ratio is from the same run.

Training: one epoch over the first ``--images`` MNIST training images (batch 128), the rate the
trainer reports for the epoch's steps, the median of ``--rounds`` epochs. Sampling: ``--samples``
images in one batch from the EMA weights of a freshly built default model (the speed does not
depend on the weights); the medians of ``--rounds`` rounds.

    OMP_NUM_THREADS=1 uv run python benchmarks/diffusion_speed.py --images 2560 --samples 64 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import statistics
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


def default_model(objective: str = "ddpm"):
    """A freshly built default diffusion model for 28x28 grey images, in eval mode (speed does not
    depend on the weights)."""
    from genkit.plugins import get_plugin_manager

    spec = get_plugin_manager().model("diffusion")
    return spec.build_model(spec.config_class()(objective=objective), genkit.DataInfo("mnist", (1, 28, 28), 10)).eval()


def training_rate(objective: str, root: str, precision: str = "fp32") -> float:
    result = genkit.train(
        "diffusion",
        overrides={
            "train.dataset": "mnist-head",
            "train.epochs": 1,
            "train.val_size": 0,
            "train.grid_samples": 1,
            "train.device": "cpu",
            "train.precision": precision,
            "model.objective": objective,
            "model.sample_steps": 1,
        },
        out=tempfile.mkdtemp(dir=root),
        reporter=Reporter(),
    )
    return result.metrics[-1]["images_per_second"]


def sampling_rates(objective: str, sampler: str, n: int, steps: int, rounds: int) -> dict[str, float]:
    """Median images/s of ``n`` samples in one batch, with the U-Net's weights channels-last (as
    the plugin keeps them) and contiguous, the two measured in alternation."""
    from genkit.drawing import drawing

    model = default_model(objective)
    drawing(model, sampler=sampler, options={"steps": 2})(2, generator=torch.Generator().manual_seed(1))  # warm-up
    rates: dict[str, list[float]] = {"channels_last": [], "contiguous": []}
    for _ in range(rounds):
        for layout, memory_format in (("channels_last", torch.channels_last), ("contiguous", torch.contiguous_format)):
            model.to(memory_format=memory_format)
            start = time.perf_counter()
            drawing(model, sampler=sampler, options={"steps": steps})(n, generator=torch.Generator().manual_seed(0))
            rates[layout].append(n / (time.perf_counter() - start))
    return {layout: statistics.median(values) for layout, values in rates.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2560, help="training images (one epoch)")
    parser.add_argument("--samples", type=int, default=64, help="images sampled in one batch")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3, help="rounds per precision and weight layout (medians)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from genkit.plugins import get_plugin_manager

    get_plugin_manager().register_plugin(head_of_mnist(args.images), "mnist-head")
    with tempfile.TemporaryDirectory() as root:
        ddpm: dict[str, list[float]] = {"fp32": [], "bf16": []}
        for _ in range(args.rounds):
            for precision, values in ddpm.items():
                values.append(training_rate("ddpm", root, precision))
        fp32, bf16 = (statistics.median(ddpm[p]) for p in ("fp32", "bf16"))
        figures = {
            "threads": args.threads,
            "train_images_per_s_ddpm": round(fp32, 1),
            "train_images_per_s_ddpm_bf16": round(bf16, 1),
            "bf16_speedup_train_ddpm": round(bf16 / fp32, 3),
            "train_images_per_s_flow_matching": round(training_rate("flow-matching", root), 1),
        }
    for objective, sampler in (("ddpm", "ddim"), ("flow-matching", "euler")):
        rates = sampling_rates(objective, sampler, args.samples, args.steps, args.rounds)
        figures[f"sample_images_per_s_{sampler}{args.steps}"] = round(rates["channels_last"], 2)
        figures[f"sample_images_per_s_{sampler}{args.steps}_contiguous_weights"] = round(rates["contiguous"], 2)
        figures[f"channels_last_speedup_{sampler}"] = round(rates["channels_last"] / rates["contiguous"], 3)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
