"""A plain PyTorch MLP VAE, trained and scored the way genkit's `vae` is, as a quality reference.

Same model (784-500-20 encoder with ReLU, 20-500-784 Bernoulli decoder), same
50,000-image training split (genkit's validation split held out), dynamic
binarization, Adam (lr 1e-3, batch 128), 40 epochs; test images binarized once
with a fixed seed exactly as `genkit score` does, so both are scored on the same
binary test set. Prints test negative ELBO and the importance-weighted NLL.

    uv run python benchmarks/vae_reference.py --data-dir ../shared/data --epochs 40 --k 1000
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def read_images(path: Path) -> torch.Tensor:
    with gzip.open(path, "rb") as f:
        data = f.read()
    n = int.from_bytes(data[4:8], "big")
    return torch.from_numpy(np.frombuffer(data, np.uint8, offset=16).copy()).view(n, 784)


class VAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc21, self.fc22 = nn.Linear(784, 500), nn.Linear(500, 20), nn.Linear(500, 20)
        self.fc3, self.fc4 = nn.Linear(20, 500), nn.Linear(500, 784)

    def encode(self, x):
        h = F.relu(self.fc1(x))
        return self.fc21(h), self.fc22(h)

    def decode(self, z):
        return self.fc4(F.relu(self.fc3(z)))

    def forward(self, x):
        mu, logvar = self.encode(x)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return self.decode(z), mu, logvar


def neg_elbo(logits, x, mu, logvar):
    recon = F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(1)
    kl = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(1)
    return recon + kl


@torch.no_grad()
def iw_nll(model, x, k, chunk=100):
    out = []
    for i in range(0, x.shape[0], chunk):
        xb = x[i : i + chunk]
        mu, logvar = model.encode(xb)
        std = torch.exp(0.5 * logvar)
        logw = []
        for s in range(0, k, 500):
            n = min(500, k - s)
            eps = torch.randn(n, *mu.shape)
            z = mu + eps * std
            logits = model.decode(z)
            log_px = -F.binary_cross_entropy_with_logits(logits, xb.expand(n, -1, -1), reduction="none").sum(-1)
            log_pz = standard_normal_log_density(z)
            log_qz = -0.5 * (eps.pow(2) + logvar + math.log(2 * math.pi)).sum(-1)
            logw.append(log_px + log_pz - log_qz)
        out.append(-(torch.logsumexp(torch.cat(logw), 0) - math.log(k)))
    return torch.cat(out)


def standard_normal_log_density(z):
    return -0.5 * (z.pow(2) + math.log(2 * math.pi)).sum(-1)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", required=True)
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--k", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="write the results as JSON here")
    args = p.parse_args()
    raw = Path(args.data_dir) / "MNIST" / "raw"
    train_u8 = read_images(raw / "train-images-idx3-ubyte.gz")
    test_u8 = read_images(raw / "t10k-images-idx3-ubyte.gz")
    order = torch.randperm(60_000, generator=torch.Generator().manual_seed(20_141_220))
    train = train_u8[order[10_000:]].float() / 255  # genkit's validation split held out
    # Test set binarized once: pixel on with probability intensity/255, seed 0 (as `genkit score`).
    noise = torch.randint(0, 255, test_u8.shape, dtype=torch.uint8, generator=torch.Generator().manual_seed(args.seed))
    test = (noise < test_u8).float()

    torch.manual_seed(args.seed)
    model = VAE()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    started = time.time()
    for epoch in range(args.epochs):
        perm = torch.randperm(train.shape[0])
        total = 0.0
        for i in range(0, train.shape[0], 128):
            x = torch.bernoulli(train[perm[i : i + 128]])
            logits, mu, logvar = model(x)
            loss = neg_elbo(logits, x, mu, logvar).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * x.shape[0]
        print(f"epoch {epoch + 1}: train neg ELBO {total / train.shape[0]:.3f}", flush=True)
    train_seconds = time.time() - started
    model.eval()
    with torch.no_grad():
        torch.manual_seed(args.seed)
        logits, mu, logvar = model(test)
        elbo = neg_elbo(logits, test, mu, logvar)
    torch.manual_seed(args.seed)
    nll = iw_nll(model, test, args.k)
    result = {
        "test_images": test.shape[0],
        "epochs": args.epochs,
        "neg_elbo_nats": elbo.mean().item(),
        "iw_nll_nats": nll.mean().item(),
        "k": args.k,
        "bits_per_binarized_pixel": (nll.mean() / (784 * math.log(2))).item(),
        "train_seconds": round(train_seconds, 1),
    }
    print(json.dumps(result, indent=2))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
