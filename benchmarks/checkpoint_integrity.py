"""What the checkpoint digest costs: saving and loading a checkpoint through genkit (SHA-256 of the
tensor data written into the header and checked on load, atomic write with fsync) against bare
safetensors calls on the same tensors, in alternating rounds; medians.

    uv run python benchmarks/checkpoint_integrity.py --params 1e6 1e7 3e7 --rounds 5
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from genkit.artifacts import tensor_digest
from genkit.checkpoint import load_checkpoint, save_checkpoint


def tensors_of(params: int) -> dict[str, torch.Tensor]:
    """A model's weights and the two Adam moments of each, in tensors of a million values."""
    out = {}
    for i in range(max(1, params // 1_000_000)):
        for group in ("model", "optim/model/exp_avg", "optim/model/exp_avg_sq"):
            out[f"{group}/{i}"] = torch.randn(min(params, 1_000_000))
    return out


def timed(fn, *args) -> float:
    started = time.perf_counter()
    fn(*args)
    return time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--params", type=float, nargs="+", default=[1e6, 1e7, 3e7])
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as root:
        for params in map(int, args.params):
            tensors = tensors_of(params)
            size = sum(t.numel() * t.element_size() for t in tensors.values())
            bare, ours = Path(root) / "bare.safetensors", Path(root) / "ours.safetensors"
            times: dict[str, list[float]] = {"bare save": [], "genkit save": [], "bare load": [], "genkit load": []}
            meta = {"model": "x", "model_config": {}, "train_config": {}, "data": {"name": "x", "shape": [1, 1, 1]}}
            for _ in range(args.rounds):  # alternating, so drift in the machine's load hits both alike
                times["bare save"].append(timed(save_file, tensors, str(bare)))
                times["genkit save"].append(timed(save_checkpoint, ours, tensors, meta))
                times["bare load"].append(timed(load_file, str(bare)))
                times["genkit load"].append(timed(load_checkpoint, ours))
            digest = statistics.median(timed(tensor_digest, tensors) for _ in range(args.rounds))
            medians = {k: statistics.median(v) for k, v in times.items()}
            rows.append(
                {
                    "params": params,
                    "megabytes": round(size / 1e6, 1),
                    **{k: round(v, 4) for k, v in medians.items()},
                    "digest alone": round(digest, 4),
                    "save ratio": round(medians["genkit save"] / medians["bare save"], 2),
                    "load ratio": round(medians["genkit load"] / medians["bare load"], 2),
                }
            )
            print(json.dumps(rows[-1]), flush=True)


if __name__ == "__main__":
    main()
