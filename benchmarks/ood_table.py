"""Table 1 of Dai, Wenliang and Wipf (2021): bits per dimension of inliers and outliers.

Trains the learned-gamma VAE (model ``gammavae``) on Fashion-MNIST at several
kappa, and a flow (model ``realnvp``) when that plugin is installed, then
reports per model: bpd of Fashion-MNIST train images (those it was trained on),
Fashion-MNIST test, MNIST test (the outliers), the AUROC of bpd as an outlier
score and, for the VAE, the learned gamma. One histogram PNG per model lands in
its run directory (``genkit.score_ood``).

The defaults are the paper's sizes as far as this command goes (all 60,000
training images, full width); on a CPU shrink them, for example::

    uv run python benchmarks/ood_table.py --kappas 16 64 512 --width 8 \\
        --train-images 4096 --epochs 2 --batch-size 32 --eval-images 500 --samples 32

Run ``uv run python benchmarks/ood_table.py --help`` for every option.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import torch

import genkit
from genkit.plugins import get_plugin_manager

SUBSET = "fashion-mnist-first"


def train_bpd(run, train_x: torch.Tensor, samples: int | None, seed: int) -> float:
    """Mean bpd of training images through the core ``bpd`` evaluator."""
    lm = genkit.load(run)
    ev = get_plugin_manager().evaluator("bpd")
    ctx = genkit.EvalContext(
        model=lm.model,
        x=train_x.to(lm.device),
        y=None,
        dataset="fashion-mnist train",
        batch_size=100,
        samples=samples,
        seed=seed,
    )
    return ev.evaluate(ctx).metrics["bpd"]


def run_model(name: str, sets: dict, args, train_x: torch.Tensor, epochs: int, samples: int | None) -> dict:
    """Train one model on the Fashion-MNIST subset and score it as a column of the table.

    ``samples`` is K of a VAE's importance-weighted estimate, or a flow's number of
    dequantization draws (None: the model's own default)."""
    dataset = f"{SUBSET}:{args.train_images}" if args.train_images else "fashion-mnist"
    overrides = {
        "train.dataset": dataset,
        "train.epochs": epochs,
        "train.batch_size": args.batch_size,
        "train.lr": args.lr,
        "train.val_size": args.val_size,
        "train.seed": args.seed,
        "train.device": args.device,
        "train.data_dir": args.data_dir,
    }
    started = time.perf_counter()
    result = genkit.train(
        name, overrides=overrides, sets=[f"model.{k}={v}" for k, v in sets.items()], reporter=genkit.Reporter()
    )
    train_seconds = time.perf_counter() - started
    steps = epochs * math.ceil((train_x.shape[0] - min(args.val_size, train_x.shape[0] // 6)) / args.batch_size)
    report = genkit.score_ood(
        result.run.path,
        "mnist",
        dataset="fashion-mnist",
        samples=samples,
        data_dir=args.data_dir,
        limit=args.eval_images or None,
        seed=args.seed,
        device=args.device,
    )
    lm = genkit.load(result.run.path)
    column = {
        "model": name,
        **sets,
        "run": str(result.run.path),
        "iterations": steps,
        "train_seconds": round(train_seconds, 1),
        "fashion_train_bpd": train_bpd(result.run.path, train_x[: args.eval_images or None], samples, args.seed),
        "fashion_test_bpd": report.inlier_bpd.mean().item(),
        "mnist_test_bpd": report.outlier_bpd.mean().item(),
        "auroc": report.auroc,
        "plot": str(report.plot),
        "eval_seconds": round(time.perf_counter() - started - train_seconds, 1),
    }
    if hasattr(lm.model, "gamma"):
        column["gamma"] = float(lm.model.gamma.detach())
    print(json.dumps(column), flush=True)
    return column


def markdown(columns: list[dict], flow_note: str | None) -> str:
    """The table in the paper's layout: one row per split (and gamma), one column per model."""
    heads = (["flow"] if flow_note else []) + [
        ("flow" if c["model"] != "gammavae" else f"VAE kappa={c['kappa']}") for c in columns
    ]
    rows = [
        ("Fashion-MNIST train", "fashion_train_bpd"),
        ("Fashion-MNIST test", "fashion_test_bpd"),
        ("MNIST test", "mnist_test_bpd"),
        ("AUROC (MNIST = outlier)", "auroc"),
        ("learned gamma", "gamma"),
    ]
    lines = ["| | " + " | ".join(heads) + " |", "|---" * (len(heads) + 1) + "|"]
    for label, key in rows:
        cells = (["not run"] if flow_note else []) + [
            ("-" if key not in c else (f"{c[key]:.3g}" if key == "gamma" else f"{c[key]:.3f}")) for c in columns
        ]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    if flow_note:
        lines.append(f"\nflow: {flow_note}")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--kappas",
        type=int,
        nargs="*",
        default=[16, 32, 64, 128, 256, 512],
        help="VAE feature widths to train (one column each; none: the flow alone)",
    )
    p.add_argument("--width", type=int, default=64, help="channels of the first convolution (64 as in the paper)")
    p.add_argument("--latent-dim", type=int, default=64)
    p.add_argument(
        "--train-images", type=int, default=0, help="train on the first N Fashion-MNIST training images (0: all)"
    )
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument(
        "--gamma-lr-scale", type=float, default=10.0, help="learning rate of log gamma relative to the networks'"
    )
    p.add_argument("--val-size", type=int, default=1000, help="training images held out for validation")
    p.add_argument("--eval-images", type=int, default=0, help="score the first N images of each split (0: all)")
    p.add_argument("--samples", type=int, default=100, help="importance samples K of the log p(x) estimate")
    p.add_argument("--no-flow", action="store_true", help="skip the flow column even when realnvp is installed")
    p.add_argument("--flow-set", nargs="*", default=[], help="model settings of the flow, as key=value")
    p.add_argument("--flow-epochs", type=int, default=None, help="epochs of the flow (default: --epochs)")
    p.add_argument(
        "--flow-samples",
        type=int,
        default=None,
        help="dequantization draws per image when scoring the flow (default: the flow's own)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--out", default="benchmarks/results/ood_table.json")
    args = p.parse_args()

    pm = get_plugin_manager()
    genkit.register_subset(SUBSET, "fashion-mnist", description="the first N Fashion-MNIST training images")
    train_x = genkit.load_dataset("fashion-mnist", args.data_dir).train_x[: args.train_images or None]
    columns, flow_note = [], None
    if args.no_flow or "realnvp" not in pm.registries["models"].names():
        flow_note = "not run (" + ("--no-flow" if args.no_flow else "the realnvp model is not installed") + ")"
        print(f"flow column: {flow_note}", flush=True)
    else:
        columns.append(
            run_model(
                "realnvp",
                dict(s.split("=", 1) for s in args.flow_set),
                args,
                train_x,
                args.flow_epochs or args.epochs,
                args.flow_samples,
            )
        )
    for kappa in args.kappas:
        sets = {
            "kappa": kappa,
            "width": args.width,
            "latent_dim": args.latent_dim,
            "gamma_lr_scale": args.gamma_lr_scale,
        }
        columns.append(run_model("gammavae", sets, args, train_x, args.epochs, args.samples))
    table = markdown(columns, flow_note)
    print(table)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "args": vars(args),
                "torch_threads": torch.get_num_threads(),
                "columns": columns,
                "flow": flow_note,
                "table": table,
            },
            indent=2,
        )
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
