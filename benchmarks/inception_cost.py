"""What an Inception score costs on this machine: feature extraction and the figures' linear algebra.

Times genkit-fidelity's extractor (torch-fidelity's Inception-v3 at 299x299) on 8-bit batches of
MNIST-sized grey images, then torch-fidelity's FID (an eigen-decomposition of a 2048x2048 product)
and KID (100 subsets of 1,000) on 10,000 x 2048 features once each, and prints them with the
cost of a 10,000-sample ``genkit score -m inception-fid -m inception-kid`` it implies (samples and
reference extracted once; the sampler's own time not counted). With the real weights absent it
times the same network with test-made weights (tests/inception_standin.py): the arithmetic is the
same.

    uv run python benchmarks/inception_cost.py --images 64 --rounds 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]


def weights():
    from genkit_fidelity.weights import WeightsError, resolve

    try:
        return resolve(), "the real weights"
    except WeightsError:
        sys.path.insert(0, str(REPO / "tests"))
        from inception_standin import write_standin_weights

        path = Path(tempfile.mkdtemp()) / "standin.pth"
        sha = write_standin_weights(path)
        return resolve(path, sha), "test-made weights (same network and arithmetic)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=128, help="images per extraction round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--features", type=int, default=10_000, help="images per side for the FID and KID timings")
    args = parser.parse_args()
    os.environ.setdefault("GENKIT_OFFLINE", "1")

    from genkit_fidelity import metrics
    from genkit_fidelity.extractor import load
    from genkit_fidelity.images import to_rgb_uint8

    verified, which = weights()
    extractor = load(verified, "cpu")
    images = torch.randint(0, 256, (args.images, 1, 28, 28), dtype=torch.uint8)
    extractor.features([to_rgb_uint8(images[:8])])  # warm-up
    rates = []
    for _ in range(args.rounds):
        started = time.perf_counter()
        extractor.features([to_rgb_uint8(images)])
        rates.append(args.images / (time.perf_counter() - started))
    g = torch.Generator().manual_seed(0)
    a = torch.rand(args.features, 2048, generator=g)
    b = torch.rand(args.features, 2048, generator=g) + 0.01
    started = time.perf_counter()  # once each: minutes, where load noise is a small part
    metrics.fid(a, b)
    fid_t = time.perf_counter() - started
    started = time.perf_counter()
    metrics.kid(a, b)
    kid_t = time.perf_counter() - started
    rate = statistics.median(rates)
    total = 2 * 10_000 / rate + fid_t + kid_t
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {which}; load {os.getloadavg()}")
    print(f"feature extraction: {rate:.1f} images/s (median of {args.rounds} rounds of {args.images}: {rates})")
    print(f"FID of {args.features} x 2048 features: {fid_t:.1f} s; KID: {kid_t:.1f} s")
    print(
        f"a 10,000-sample score against 10,000 reference images: about {total / 60:.0f} minutes "
        f"({10_000 / rate / 60:.0f} for the reference, cached afterwards)"
    )


if __name__ == "__main__":
    main()
