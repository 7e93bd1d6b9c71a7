"""Which speed options pay for DDPM sampling on this machine: the U-Net's weight layout
(channels-last, as the plugin keeps it, or contiguous), bf16 autocast, and torch.compile.

Each variant draws the same ``--samples`` noise images with DDIM at ``--steps`` steps through
genkit's own drawing path (what `genkit sample` runs). Per round every variant draws once, the
order rotating from round to round; images/s are medians over rounds and each variant's speed-up
over the default (fp32, channels-last, eager) is the median of its per-round ratios, with their
range. Compilation happens before the first round and its time is reported on its own. With a
trained run, each variant's images are also compared with the default's (mean and largest absolute
difference in [0, 1]): bf16 changes the numbers, compilation should not by more than rounding.

    OMP_NUM_THREADS=2 uv run python benchmarks/diffusion_sampling_options.py runs/ddpm --samples 64 --rounds 5
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import time
from datetime import datetime, timezone

import torch

import genkit
from genkit.drawing import drawing

VARIANTS = ("fp32 channels-last (default)", "fp32 contiguous", "bf16 autocast", "compiled")


def _load(run: str | None):
    if run:
        return genkit.load(run, device="cpu").model.eval()
    from diffusion_speed import default_model  # a sibling script: benchmarks/ is on sys.path when run

    return default_model()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", nargs="?", help="a DDPM run (default: a freshly built default model)")
    parser.add_argument("--samples", type=int, default=64)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", default=None, help="also write the figures here")
    args = parser.parse_args()
    model = _load(args.run)
    eager = model.sampling_net
    compiled = torch.compile(eager)
    holder = model.ema if model.ema is not None else model  # whose ``net`` sampling_net is

    def draw(variant: str) -> tuple[float, torch.Tensor]:
        holder.net = compiled if variant == "compiled" else eager
        eager.to(memory_format=torch.contiguous_format if variant == "fp32 contiguous" else torch.channels_last)
        autocast = (
            torch.autocast("cpu", dtype=torch.bfloat16) if variant == "bf16 autocast" else contextlib.nullcontext()
        )
        start = time.perf_counter()
        with torch.no_grad(), autocast:
            images = drawing(model, sampler="ddim", options={"steps": args.steps})(
                args.samples, generator=torch.Generator().manual_seed(0)
            )
        seconds = time.perf_counter() - start
        holder.net = eager
        return args.samples / seconds, images.float()

    compile_start = time.perf_counter()
    draw("compiled")  # compiles (and warms up) before the first round
    compile_seconds = time.perf_counter() - compile_start
    draw(VARIANTS[0])
    load_before = os.getloadavg()[0]
    started = datetime.now(timezone.utc)
    rates: dict[str, list[float]] = {v: [] for v in VARIANTS}
    images: dict[str, torch.Tensor] = {}
    for r in range(args.rounds):
        for variant in VARIANTS[r % len(VARIANTS) :] + VARIANTS[: r % len(VARIANTS)]:
            rate, images[variant] = draw(variant)
            rates[variant].append(rate)
        print(f"round {r + 1}: " + ", ".join(f"{v} {rates[v][-1]:.2f}" for v in VARIANTS), flush=True)
    reference = images[VARIANTS[0]]
    figures = {
        "date": started.strftime("%Y-%m-%d %H:%M UTC"),
        "load_average_before_after": [round(load_before, 1), round(os.getloadavg()[0], 1)],
        "threads": torch.get_num_threads(),
        "run": args.run or "freshly built default model",
        "samples": args.samples,
        "steps": args.steps,
        "compile_seconds": round(compile_seconds, 1),
        "variants": {
            v: {
                "images_per_s": round(statistics.median(rates[v]), 2),
                "speedup_median": round(statistics.median(a / b for a, b in zip(rates[v], rates[VARIANTS[0]])), 3),
                "speedup_range": [
                    round(min(a / b for a, b in zip(rates[v], rates[VARIANTS[0]])), 3),
                    round(max(a / b for a, b in zip(rates[v], rates[VARIANTS[0]])), 3),
                ],
                "mean_abs_diff_to_default": float(f"{(images[v] - reference).abs().mean():.3g}"),
                "max_abs_diff_to_default": float(f"{(images[v] - reference).abs().max():.3g}"),
            }
            for v in VARIANTS
        },
    }
    print(json.dumps(figures, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            f.write(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
