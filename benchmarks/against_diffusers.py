"""genkit's default DDPM against diffusers' UNet2DModel and schedulers at the same size, on the same
data, trained and sampled in one interleaved run.

diffusers is needed only here: run it with ``uv run --with diffusers``.

    OMP_NUM_THREADS=2 uv run --with diffusers python benchmarks/against_diffusers.py \\
        --data-dir ../shared/data --images 2560 --samples 64 --steps 50 --rounds 5

The two networks, both 28x28 to 7x7 with 32-64-64 channels, one residual block per resolution on
the way down, self-attention (one head) only in the middle at 7x7, 8 groups per GroupNorm and a
128-d time embedding:

- genkit: the default `diffusion` model (its U-Net keeps channels-last weights, as the plugin does);
- diffusers: ``UNet2DModel(block_out_channels=(32, 64, 64), layers_per_block=1, DownBlock2D and
  UpBlock2D, norm_num_groups=8, attention_head_dim=64)``. Its up blocks always have one residual
  block more than the down blocks, so it is larger; each network's forward cost is counted
  (``torch.utils.flop_counter``) and printed beside its speed.

Training, per round, one epoch over the first ``--images`` MNIST training images, batch 128:

- genkit: ``genkit.train`` (the trainer `genkit train` runs: Adam, the EMA, Min-SNR weighting),
  its own images/s for the epoch's steps;
- diffusers: the loop of its ``train_unconditional`` example (``DDPMScheduler.add_noise``, epsilon
  MSE, AdamW, ``EMAModel``) over the same images held in memory as tensors, shuffled per epoch.
  The example reads images through a DataLoader of PIL transforms; giving it tensors measures the
  network and scheduler, not image decoding.

Sampling, per round, ``--samples`` images in one batch at ``--steps`` steps with DDIM (eta 0), and
at ``--solver-steps`` with DPM-Solver++ 2M: genkit's own drawing path (what `genkit sample` runs),
diffusers' ``DDIMScheduler`` and ``DPMSolverMultistepScheduler`` in the loop its documentation
gives for a custom pipeline.

Each round runs every measurement once, genkit and diffusers alternating which goes first; figures
are medians over rounds, and genkit/diffusers ratios are medians of the per-round ratios, with
their range.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import torch
import torch.nn.functional as F

import genkit

sys.path.insert(0, str(Path(__file__).parent))
from diffusion_speed import default_model, head_of_mnist, training_rate  # noqa: E402

BATCH = 128
LR = 5e-4  # genkit's default for the diffusion model


def diffusers_unet():
    from diffusers import UNet2DModel

    return UNet2DModel(
        sample_size=28,
        in_channels=1,
        out_channels=1,
        block_out_channels=(32, 64, 64),
        layers_per_block=1,
        down_block_types=("DownBlock2D",) * 3,
        up_block_types=("UpBlock2D",) * 3,
        norm_num_groups=8,
        attention_head_dim=64,
    )


def forward_flops(net, call) -> int:
    from torch.utils.flop_counter import FlopCounterMode

    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        call(net)
    return counter.get_total_flops()


def diffusers_training_rate(images: torch.Tensor, seed: int) -> float:
    """Images/s of one epoch of the train_unconditional loop over ``images`` ([-1, 1], in memory)."""
    from diffusers import DDPMScheduler
    from diffusers.training_utils import EMAModel

    torch.manual_seed(seed)
    net = diffusers_unet().train()
    scheduler = DDPMScheduler(num_train_timesteps=1000, beta_schedule="linear")
    optimizer = torch.optim.AdamW(net.parameters(), lr=LR)
    ema = EMAModel(net.parameters(), decay=0.999)
    order = torch.randperm(len(images))
    start = time.perf_counter()
    for i in range(0, len(images), BATCH):
        clean = images[order[i : i + BATCH]]
        noise = torch.randn_like(clean)
        t = torch.randint(0, scheduler.config.num_train_timesteps, (len(clean),))
        loss = F.mse_loss(net(scheduler.add_noise(clean, noise, t), t).sample, noise)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        ema.step(net.parameters())
    loss.item()
    return len(images) / (time.perf_counter() - start)


def diffusers_sampling_rate(net, scheduler, n: int, steps: int) -> float:
    generator = torch.Generator().manual_seed(0)
    start = time.perf_counter()
    with torch.no_grad():
        x = torch.randn(n, 1, 28, 28, generator=generator)
        scheduler.set_timesteps(steps)
        for t in scheduler.timesteps:
            x = scheduler.step(net(x, t).sample, t, x).prev_sample
    return n / (time.perf_counter() - start)


def genkit_sampling_rate(model, sampler: str, n: int, steps: int) -> float:
    from genkit.drawing import drawing

    start = time.perf_counter()
    drawing(model, sampler=sampler, options={"steps": steps})(n, generator=torch.Generator().manual_seed(0))
    return n / (time.perf_counter() - start)


def summary(genkit_values: list[float], diffusers_values: list[float], flops_ratio: float) -> dict:
    """``flops_ratio``: genkit's forward cost per image over diffusers'; the ratio of images/s times it
    is the ratio of arithmetic done per second (training and sampling both cost a multiple of the
    forward pass, the same multiple for both networks)."""
    ratios = [g / d for g, d in zip(genkit_values, diffusers_values)]
    return {
        "genkit_images_per_s": round(statistics.median(genkit_values), 2),
        "diffusers_images_per_s": round(statistics.median(diffusers_values), 2),
        "ratio_median": round(statistics.median(ratios), 3),
        "ratio_min": round(min(ratios), 3),
        "ratio_max": round(max(ratios), 3),
        "per_round_ratios": [round(r, 3) for r in ratios],
        "flops_per_second_ratio_median": round(statistics.median(ratios) * flops_ratio, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--images", type=int, default=2560, help="training images per round (one epoch)")
    parser.add_argument("--samples", type=int, default=64, help="images sampled in one batch")
    parser.add_argument("--steps", type=int, default=50, help="DDIM steps")
    parser.add_argument("--solver-steps", type=int, default=15, help="DPM-Solver++ 2M steps")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", "2")))
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    try:
        import diffusers
        from diffusers import DDIMScheduler, DPMSolverMultistepScheduler
    except ImportError:
        sys.exit("this benchmark needs diffusers: uv run --with diffusers python benchmarks/against_diffusers.py")
    torch.set_num_threads(args.threads)
    from genkit.plugins import get_plugin_manager

    if args.data_dir:
        os.environ["GENKIT_DATA_DIR"] = args.data_dir
    get_plugin_manager().register_plugin(head_of_mnist(args.images), "mnist-head")
    images = genkit.load_dataset("mnist", args.data_dir).train_x[: args.images].float().div(127.5).sub(1)

    ours, theirs = default_model(), diffusers_unet().eval()
    x1, t1 = torch.randn(1, 1, 28, 28), torch.tensor([500])
    sizes = {
        "genkit_parameters": sum(p.numel() for p in ours.net.parameters()),
        "diffusers_parameters": sum(p.numel() for p in theirs.parameters()),
        "genkit_forward_mflops_per_image": round(forward_flops(ours.net, lambda n: n(x1, t1)) / 1e6, 1),
        "diffusers_forward_mflops_per_image": round(forward_flops(theirs, lambda n: n(x1, t1)) / 1e6, 1),
    }
    flops_ratio = sizes["genkit_forward_mflops_per_image"] / sizes["diffusers_forward_mflops_per_image"]
    print(json.dumps(sizes))
    ddim = DDIMScheduler(num_train_timesteps=1000, beta_schedule="linear")
    dpm = DPMSolverMultistepScheduler(
        num_train_timesteps=1000, beta_schedule="linear", algorithm_type="dpmsolver++", solver_order=2
    )
    measures = {
        "train": (lambda: training_rate("ddpm", root), lambda: diffusers_training_rate(images, seed=0)),
        f"sample_ddim{args.steps}": (
            lambda: genkit_sampling_rate(ours, "ddim", args.samples, args.steps),
            lambda: diffusers_sampling_rate(theirs, ddim, args.samples, args.steps),
        ),
        f"sample_dpm_solver_pp{args.solver_steps}": (
            lambda: genkit_sampling_rate(ours, "dpm-solver++", args.samples, args.solver_steps),
            lambda: diffusers_sampling_rate(theirs, dpm, args.samples, args.solver_steps),
        ),
    }
    genkit_sampling_rate(ours, "ddim", 2, 2)  # warm-up of both sampling paths
    diffusers_sampling_rate(theirs, ddim, 2, 2)
    values = {name: ([], []) for name in measures}
    started = datetime.now(timezone.utc)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as root:
        for r in range(args.rounds):
            for name, (g, d) in measures.items():
                order = ((0, g), (1, d)) if r % 2 == 0 else ((1, d), (0, g))
                for side, measure in order:
                    values[name][side].append(measure())
            print(
                f"round {r + 1}/{args.rounds}: "
                + ", ".join(
                    f"{name} {values[name][0][-1]:.1f} vs {values[name][1][-1]:.1f} img/s" for name in measures
                ),
                flush=True,
            )
    figures = {
        "date": started.strftime("%Y-%m-%d %H:%M UTC"),
        "load_average_before_after": [round(load_before, 1), round(os.getloadavg()[0], 1)],
        "threads": args.threads,
        "torch": torch.__version__,
        "diffusers": diffusers.__version__,
        "images_per_round": args.images,
        "samples": args.samples,
        "rounds": args.rounds,
        **sizes,
        **{name: summary(*pair, flops_ratio) for name, pair in values.items()},
    }
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
