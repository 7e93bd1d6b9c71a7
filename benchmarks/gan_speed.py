"""GAN training speed: genkit's training loop against a plain PyTorch loop of the same networks.

Both train the default MLP GAN (batch 64, Adam 2e-4, betas (0.5, 0.999)) on the
same MNIST training images. Rounds alternate between the two so that both see
the same machine load; the medians and their ratio are printed. genkit's figure
is the images per second its trainer reports for the epoch (the training steps
only, without validation, checkpoints and pictures).

    uv run python benchmarks/gan_speed.py --images 12800 --rounds 5
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time

import torch
import torch.nn.functional as F

import genkit


def genkit_round(root: str, i: int, batch: int) -> float:
    result = genkit.train(
        "gan",
        overrides={
            "train.dataset": "mnist-head",
            "train.epochs": 1,
            "train.val_size": 0,
            "train.batch_size": batch,
            "train.grid_samples": 1,
            "train.seed": i,
        },
        out=f"{root}/genkit-{i}",
        reporter=genkit.Reporter(),
    )
    return result.metrics[-1]["images_per_second"]


def plain_round(x_uint8: torch.Tensor, i: int, batch: int) -> float:
    """The loop of the PyTorch DCGAN tutorial, on the same networks and data."""
    from genkit_gan.networks import MLPDiscriminator, MLPGenerator

    torch.manual_seed(i)
    g, d = MLPGenerator(100, (1, 28, 28)), MLPDiscriminator((1, 28, 28))
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    data = x_uint8.float() / 127.5 - 1.0
    order = torch.randperm(data.shape[0])
    started = time.perf_counter()
    for s in range(0, data.shape[0], batch):
        real = data[order[s : s + batch]]
        ones, zeros = torch.ones(real.shape[0]), torch.zeros(real.shape[0])
        fake = g(torch.randn(real.shape[0], 100))
        opt_d.zero_grad()
        d_loss = F.binary_cross_entropy_with_logits(d(real), ones) + F.binary_cross_entropy_with_logits(
            d(fake.detach()), zeros
        )
        d_loss.backward()
        opt_d.step()
        opt_g.zero_grad()
        g_loss = F.binary_cross_entropy_with_logits(d(fake), ones)
        g_loss.backward()
        opt_g.step()
    return data.shape[0] / (time.perf_counter() - started)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--images", type=int, default=12_800, help="training images per round (one epoch)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    ap.add_argument("--data-dir", default=None)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    genkit.register_subset("mnist-head", "mnist", train=args.images, test=100, data_dir=args.data_dir)
    x = genkit.load_dataset("mnist", args.data_dir).train_x[: args.images]
    ours, plain = [], []
    with tempfile.TemporaryDirectory() as root:
        for i in range(args.rounds):
            ours.append(genkit_round(root, i, args.batch_size))
            plain.append(plain_round(x, i, args.batch_size))
            print(f"round {i + 1}: genkit {ours[-1]:.0f} img/s, plain {plain[-1]:.0f} img/s", flush=True)
    result = {
        "images": args.images,
        "rounds": args.rounds,
        "batch_size": args.batch_size,
        "threads": torch.get_num_threads(),
        "genkit_img_s": statistics.median(ours),
        "plain_img_s": statistics.median(plain),
        "ratio": statistics.median(ours) / statistics.median(plain),
        "ratio_per_round_median": statistics.median(o / p for o, p in zip(ours, plain)),
    }
    print(json.dumps(result, indent=2))
    print(f"genkit / plain: {result['ratio']:.2f}x (median of {args.rounds} interleaved rounds)")


if __name__ == "__main__":
    main()
