"""Test bits per dimension after the same training budget: genkit's default realnvp
flow against the Glow example of the normflows library (L=2, K=8, hidden 64).

The peer is installed only for this benchmark:

    uv run --with normflows python benchmarks/realnvp_vs_normflows.py --data-dir ../shared/data --budget 660

The two models take optimizer steps in turn on the same batches, and each stops
when the time of its own steps reaches ``--budget`` seconds, so load from other
jobs falls on both alike. Both are scored on MNIST test (the first 3,000 images)
as bits per dimension of the 8-bit data with one uniform dequantization draw.
"""

from __future__ import annotations

import argparse
import math
import time

import torch
from genkit_realnvp.config import RealNVPConfig
from genkit_realnvp.model import RealNVP

import genkit

DIMS = 28 * 28


def normflows_glow(levels: int = 2, steps: int = 8, hidden: int = 64):
    """The normflows Glow example's multiscale architecture, for 1x28x28 images, unconditional."""
    import normflows as nf

    q0, flows, merges = [], [], []
    for i in range(levels):
        block = [
            nf.flows.GlowBlock(2 ** (levels + 1 - i), hidden, split_mode="channel", scale=True) for _ in range(steps)
        ]
        flows.append(block + [nf.flows.Squeeze()])
        if i > 0:
            merges.append(nf.flows.Merge())
            shape = (2 ** (levels - i), 28 // 2 ** (levels - i), 28 // 2 ** (levels - i))
        else:
            shape = (2 ** (levels + 1), 28 // 2**levels, 28 // 2**levels)
        q0.append(nf.distributions.DiagGaussian(shape))
    return nf.MultiscaleFlow(q0, flows, merges, class_cond=False)


class Peer:
    """normflows works on y = (x + u) / 256 in [0, 1); log P(x) = log p(y) - D log 256."""

    def __init__(self, lr: float):
        self.model = normflows_glow()
        self.opt = torch.optim.Adamax(self.model.parameters(), lr=lr, weight_decay=1e-5)

    def step(self, x_uint8):
        y = (x_uint8.float() + torch.rand(x_uint8.shape)) / 256
        self.opt.zero_grad(set_to_none=True)
        loss = self.model.forward_kld(y)
        loss.backward()
        self.opt.step()

    @torch.no_grad()
    def test_bpd(self, x_uint8, gen):
        total = 0.0
        for i in range(0, x_uint8.shape[0], 500):
            xb = x_uint8[i : i + 500]
            y = (xb.float() + torch.rand(xb.shape, generator=gen)) / 256
            total += (-(self.model.log_prob(y, None) - DIMS * math.log(256))).sum().item()
        return total / x_uint8.shape[0] / (DIMS * math.log(2))


class Ours:
    def __init__(self, lr: float, init_x):
        self.model = RealNVP(RealNVPConfig(), genkit.DataInfo("mnist", (1, 28, 28), 10))
        self.model.on_train_start(self.model.prepare_batch(genkit.Batch(x=init_x)))
        self.opt = self.model.configure_optimizers(lr)["model"]

    def step(self, x_uint8):
        batch = self.model.prepare_batch(genkit.Batch(x=x_uint8))
        self.opt.zero_grad(set_to_none=True)
        self.model.bits_per_dim(batch).loss.backward()
        self.opt.step()

    @torch.no_grad()
    def test_bpd(self, x_uint8, gen):
        total = 0.0
        for i in range(0, x_uint8.shape[0], 500):
            batch = self.model.prepare_batch(genkit.Batch(x=x_uint8[i : i + 500]), generator=gen)
            total += (-self.model.log_likelihood(batch, 1)).sum().item()
        return total / x_uint8.shape[0] / (DIMS * math.log(2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=None, help="directory with MNIST (default: GENKIT_DATA_DIR)")
    parser.add_argument("--budget", type=float, default=660.0, help="seconds of training steps per model")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: PyTorch's default)")
    parser.add_argument("--test-limit", type=int, default=3000)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    data = genkit.load_dataset("mnist", args.data_dir)
    train, test = data.train_x, data.test_x[: args.test_limit]
    torch.manual_seed(0)
    contenders = {"genkit realnvp (default)": Ours(1e-3, train[:512]), "normflows Glow L=2 K=8 h=64": Peer(1e-3)}
    spent = {name: 0.0 for name in contenders}
    images = {name: 0 for name in contenders}
    order = torch.randperm(train.shape[0])
    step = 0
    while any(s < args.budget for s in spent.values()):
        start = (step * args.batch_size) % train.shape[0]
        xb = train[order[start : start + args.batch_size]]
        for name, model in contenders.items():
            if spent[name] >= args.budget:
                continue
            began = time.perf_counter()
            model.step(xb)
            spent[name] += time.perf_counter() - began
            images[name] += xb.shape[0]
        step += 1
    print(
        f"budget {args.budget:.0f} s of training steps each, batch {args.batch_size}, torch threads "
        f"{torch.get_num_threads()}"
    )
    for name, model in contenders.items():
        params = sum(p.numel() for p in model.model.parameters())
        bpd = model.test_bpd(test, torch.Generator().manual_seed(0))
        print(f"{name:32s} {params:>9,d} params  {images[name]:>8,d} images  test bpd {bpd:.3f}")


if __name__ == "__main__":
    main()
