"""Training speed of `genkit train vae` against two plain PyTorch loops of the same model.

Per round, interleaved, one 60,000-image MNIST epoch each (batch 128, Adam, dynamic binarization):

  genkit    genkit.train("vae") with train.val_size=0 (the loop's own timing of its steps)
  compiled  the same with train.compile=true (`--compile`); its first round includes compilation
            (later rounds reuse the compiled code in this process), so its median is the warm figure
  plain     (a) the same model as one in-memory float tensor, torch.bernoulli, default Adam, loss.item() per step
  tutorial  (b) torchvision MNIST + ToTensor per item + DataLoader(shuffle=True), otherwise as (a)
  ceiling   the forward and backward matrix multiplies of the model alone, same shapes, same number of steps

The ratios are taken per round, since the four runs of a round share the machine's load, and
reported as their median with the smallest and largest (the spread); a round another job slowed
moves one ratio, not the median. The fraction of the matmul ceiling is the per-round ceiling /
genkit ratio; a fraction above 100% is impossible for a correct measurement (the ceiling is part
of genkit's step), so it is reported as an invalid measurement instead of as a number. Last, the
peak resident memory of a one-epoch `genkit train vae`, and what importing torch alone holds.

    uv run python benchmarks/vae_speed.py --data-dir ../shared/data --rounds 5
    uv run python benchmarks/vae_speed.py --data-dir ../shared/data --rounds 5 --images 12800  # shorter rounds
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

import genkit

BATCH = 128


class PlainVAE(nn.Module):
    """The model as a PyTorch tutorial writes it: two heads for mu and log variance."""

    def __init__(self):
        super().__init__()
        self.fc1, self.fc21, self.fc22 = nn.Linear(784, 500), nn.Linear(500, 20), nn.Linear(500, 20)
        self.fc3, self.fc4 = nn.Linear(20, 500), nn.Linear(500, 784)

    def forward(self, x):
        h = F.relu(self.fc1(x))
        mu, logvar = self.fc21(h), self.fc22(h)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return self.fc4(F.relu(self.fc3(z))), mu, logvar


def plain_step(model, opt, x):
    logits, mu, logvar = model(x)
    loss = (
        F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
        - 0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum()
    ) / x.shape[0]
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss.item()


def plain_epoch(state, train):
    model, opt = state
    perm = torch.randperm(train.shape[0])
    start = time.perf_counter()
    total = 0.0
    for i in range(0, train.shape[0], BATCH):
        total += plain_step(model, opt, torch.bernoulli(train[perm[i : i + BATCH]]))
    return time.perf_counter() - start


def tutorial_epoch(state, loader):
    model, opt = state
    start = time.perf_counter()
    for x, _ in loader:
        plain_step(model, opt, torch.bernoulli(x.view(-1, 784)))
    return time.perf_counter() - start


def genkit_epoch(data_dir, workdir, i, images, compile_=False):
    result = genkit.train(
        "vae",
        overrides={
            "train.data_dir": data_dir,
            "train.epochs": 1,
            "train.val_size": 0,
            "train.device": "cpu",
            "train.seed": i,
            "train.limit": images,
            "train.compile": compile_,
        },
        out=Path(workdir) / f"genkit-{i}{'-compiled' if compile_ else ''}",
        reporter=genkit.Reporter(),
    )
    return result.metrics[0]["seconds"]


def ceiling_epoch(steps):
    """Only the matrix multiplies of one forward and backward pass per step, same shapes."""
    x, w1, w2 = torch.rand(BATCH, 784), torch.randn(784, 500), torch.randn(500, 40)
    w3, w4 = torch.randn(20, 500), torch.randn(500, 784)
    start = time.perf_counter()
    for _ in range(steps):
        h = x @ w1
        o = h @ w2
        z = o[:, :20].contiguous()
        h2 = z @ w3
        y = h2 @ w4
        _ = h2.t() @ y  # dW4
        g2 = y @ w4.t()
        _ = z.t() @ g2  # dW3
        gz = g2 @ w3.t()
        go = torch.cat([gz, gz], 1)
        _ = h.t() @ go  # dW2
        gh = go @ w2.t()
        _ = x.t() @ gh  # dW1
    return time.perf_counter() - start


def tutorial_loader(data_dir, workdir, images):
    """torchvision's MNIST reads the uncompressed IDX files: unpack a copy."""
    from torchvision import datasets, transforms

    raw = Path(workdir) / "tv" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in (
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ):
        with gzip.open(Path(data_dir) / "MNIST" / "raw" / f"{name}.gz") as src, open(raw / name, "wb") as dst:
            shutil.copyfileobj(src, dst)
    ds = datasets.MNIST(str(Path(workdir) / "tv"), train=True, download=False, transform=transforms.ToTensor())
    if images < len(ds):
        ds = torch.utils.data.Subset(ds, range(images))
    return torch.utils.data.DataLoader(ds, batch_size=BATCH, shuffle=True)


def ratio_summary(numerators, denominators) -> dict:
    """Per-round ratios: their median, smallest and largest."""
    ratios = [a / b for a, b in zip(numerators, denominators)]
    return {
        "median": round(statistics.median(ratios), 3),
        "min": round(min(ratios), 3),
        "max": round(max(ratios), 3),
        "per_round": [round(r, 3) for r in ratios],
    }


def ceiling_fraction(times) -> dict:
    """ceiling / genkit per round; a value above 1 means a round's timing was distorted, since the
    multiplies are a part of genkit's step: then the figure is withheld and the result says so."""
    summary = ratio_summary(times["ceiling"], times["genkit"])
    over = sum(r > 1 for r in summary["per_round"])
    if summary["median"] > 1 or over:
        return {
            "valid": False,
            "reason": f"the ceiling took longer than genkit's whole step in {over} of {len(times['genkit'])} "
            "rounds: the load changed within the rounds, so no fraction is reported; rerun on a quieter machine",
        }
    return {"valid": True, **summary}


# The peak resident memory of a child process, read from its own /proc/self/status at exit. Not
# getrusage(RUSAGE_CHILDREN): on Linux a child's ru_maxrss starts from what the forking process held
# (this one holds MNIST as floats and four models), so it reported this script's size, not genkit's.
_PEAK_AT_EXIT = """
import os, runpy, sys
try:
    {body}
finally:
    status = open("/proc/self/status").read()
    with open(os.environ["PEAK_RSS_FILE"], "w") as f:
        f.write(status.split("VmHWM:")[1].split()[0])
"""


def _child_peak_mib(body: str, args: list[str], workdir) -> float:
    out = Path(workdir) / "peak-rss-kb"
    env = {**os.environ, "PEAK_RSS_FILE": str(out)}
    code = _PEAK_AT_EXIT.format(body=body)
    subprocess.run([sys.executable, "-c", code, *args], check=True, capture_output=True, env=env)
    return int(out.read_text()) / 1024


def import_torch_rss_mib(workdir) -> float:
    return _child_peak_mib("import torch", [], workdir)


def peak_memory_mib(data_dir, workdir) -> float:
    """Peak resident memory of `genkit train vae --epochs 1` (the console script's own code path)."""
    args = ["train", "vae", "--epochs", "1", "--data-dir", data_dir, "--device", "cpu"]
    args += ["--out", str(Path(workdir) / "mem"), "--set", "train.val_size=0"]
    return _child_peak_mib('runpy.run_module("genkit", run_name="__main__", alter_sys=True)', args, workdir)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", required=True)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--images", type=int, default=60_000, help="images per round (default: the whole epoch)")
    p.add_argument("--json", default=None, help="also write the results here")
    args = p.parse_args()
    data_dir = str(Path(args.data_dir).resolve())
    mnist = genkit.load_dataset("mnist", data_dir)
    train = (mnist.train_x.view(-1, 784).float() / 255)[: args.images]
    steps = -(-train.shape[0] // BATCH)
    times = {"genkit": [], "compiled": [], "plain": [], "tutorial": [], "ceiling": []}
    with tempfile.TemporaryDirectory() as workdir:
        loader = tutorial_loader(data_dir, workdir, train.shape[0])
        torch.manual_seed(0)
        plain = (lambda m: (m, torch.optim.Adam(m.parameters(), lr=1e-3)))(PlainVAE())
        tutorial = (lambda m: (m, torch.optim.Adam(m.parameters(), lr=1e-3)))(PlainVAE())
        for i in range(args.rounds):
            times["genkit"].append(genkit_epoch(data_dir, workdir, i, train.shape[0]))
            times["compiled"].append(genkit_epoch(data_dir, workdir, i, train.shape[0], compile_=True))
            times["plain"].append(plain_epoch(plain, train))
            times["tutorial"].append(tutorial_epoch(tutorial, loader))
            times["ceiling"].append(ceiling_epoch(steps))
            print(f"round {i + 1}: " + ", ".join(f"{k} {v[-1]:.2f}s" for k, v in times.items()), flush=True)
        memory = peak_memory_mib(data_dir, workdir)
        torch_alone = import_torch_rss_mib(workdir)
    med = {k: statistics.median(v) for k, v in times.items()}
    fastest = {k: min(v) for k, v in times.items()}
    result = {
        "images_per_round": train.shape[0],
        "seconds_per_round_median": {k: round(v, 3) for k, v in med.items()},
        "images_per_second_median": {k: round(train.shape[0] / v) for k, v in med.items()},
        "images_per_second_best": {k: round(train.shape[0] / v) for k, v in fastest.items()},
        "speedup_vs_plain": ratio_summary(times["plain"], times["genkit"]),
        "speedup_vs_tutorial": ratio_summary(times["tutorial"], times["genkit"]),
        "speedup_vs_plain_of_minima": round(fastest["plain"] / fastest["genkit"], 3),
        "compiled_speedup_vs_genkit": ratio_summary(times["genkit"], times["compiled"]),
        "compiled_speedup_vs_plain": ratio_summary(times["plain"], times["compiled"]),
        "compiled_fraction_of_matmul_ceiling": ceiling_fraction({**times, "genkit": times["compiled"]}),
        "fraction_of_matmul_ceiling": ceiling_fraction(times),
        "peak_rss_mib_genkit_train": round(memory, 1),
        "peak_rss_mib_import_torch": round(torch_alone, 1),
        "rounds": args.rounds,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
    }
    print(json.dumps(result, indent=2))
    ceiling = result["fraction_of_matmul_ceiling"]
    if ceiling["valid"]:
        print(f"fraction of the matmul ceiling: {ceiling['median']:.0%} (median of per-round ratios)")
    else:
        print(f"fraction of the matmul ceiling: invalid measurement ({ceiling['reason']})")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
