"""Table 1 of Dai, Wenliang and Wipf (2021): bits per dimension of inliers and outliers.

Trains the learned-gamma VAE (model ``gammavae``) on Fashion-MNIST at several
kappa, and a flow (model ``realnvp``) when that plugin is installed, then
reports per model: bpd of Fashion-MNIST train images (those it was trained on),
Fashion-MNIST test, MNIST test (the outliers), each with its standard error, the
AUROC of bpd as an outlier score and, for the VAE, the learned gamma (genkit's
gamma is the decoder's variance; its square root, the standard deviation, is
reported beside it), the last epoch's validation KL and reconstruction error and
whether the model stayed on the mean image. One histogram PNG per model lands in
its run directory (``genkit.score_ood``); ``--histograms DIR`` copies those of
the flow and of ``--histogram-kappas`` there.

``--init-log-gamma`` changes where training starts, never the model or the
objective it is trained and scored by (the paper's negative ELBO throughout).
The paper-sized run, for a GPU (200,000 iterations of batch 64 for every VAE and
the flow: 217 epochs of the 59,000 training images; every test image, K = 100)::

    uv run python benchmarks/ood_table.py --device cuda --iterations 200000 --init-log-gamma -5 \\
        --flow-epochs 217 --flow-set step=glow hidden=64 res_blocks=2 --eval-images 0 --samples 100 \\
        --histograms docs/images --out benchmarks/results/ood_table_paper.json

Two processes side by side (one per core), each with its share of the columns,
then one table from both::

    uv run python benchmarks/ood_table.py --combine A.json B.json --out TABLE.json

Run ``uv run python benchmarks/ood_table.py --help`` for every option.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import time
from pathlib import Path

import torch

import genkit
from genkit.plugins import get_plugin_manager
from genkit.training.checks import steps_per_epoch

SUBSET = "fashion-mnist-first"
#: Per-pixel variance of the dequantized Fashion-MNIST training images around their mean image:
#: the squared error of a decoder that draws the mean image for every input.
MEAN_IMAGE_MSE = 0.0863
#: Dai, Wenliang and Wipf (2021), Table 1: Fashion-MNIST test and MNIST test bpd.
PAPER = {
    "glow": {"fashion_test_bpd": 2.958, "mnist_test_bpd": 1.833},
    16: {"fashion_test_bpd": 2.805, "mnist_test_bpd": 9.598},
    512: {"fashion_test_bpd": 2.301, "mnist_test_bpd": 4.351},
}


def stderr(values: torch.Tensor) -> float:
    return (values.std() / math.sqrt(values.numel())).item()


def train_bpd(run, train_x: torch.Tensor, samples: int | None, seed: int) -> tuple[float, float]:
    """Mean bpd of training images through the core ``bpd`` evaluator, and its standard error."""
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
    metrics = ev.evaluate(ctx).metrics
    return metrics["bpd"], metrics["bpd_stderr"]


def clock() -> tuple[float, float]:
    """Wall and CPU seconds (this process, every thread)."""
    return time.perf_counter(), time.process_time()


def since(start: tuple[float, float]) -> dict[str, float]:
    wall, cpu = clock()
    return {"wall": round(wall - start[0], 1), "cpu": round(cpu - start[1], 1)}


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
        "train.compile": args.compile,
    }
    started = clock()
    result = genkit.train(
        name, overrides=overrides, sets=[f"model.{k}={v}" for k, v in sets.items()], reporter=genkit.Reporter()
    )
    train_time = since(started)
    scoring = clock()
    trained = train_x.shape[0] - min(args.val_size, train_x.shape[0] // 6)
    steps = epochs * steps_per_epoch(trained, args.batch_size, 1)
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
    fashion_train, fashion_train_se = train_bpd(
        result.run.path, train_x[: args.eval_images or None], samples, args.seed
    )
    last = result.metrics[-1]
    column = {
        "model": name,
        **sets,
        "run": str(result.run.path),
        "epochs": epochs,
        "iterations": steps,
        "train_seconds": train_time,
        "fashion_train_bpd": fashion_train,
        "fashion_train_bpd_stderr": fashion_train_se,
        "fashion_test_bpd": report.inlier_bpd.mean().item(),
        "fashion_test_bpd_stderr": stderr(report.inlier_bpd),
        "mnist_test_bpd": report.outlier_bpd.mean().item(),
        "mnist_test_bpd_stderr": stderr(report.outlier_bpd),
        "images_scored": {"fashion_train": min(train_x.shape[0], args.eval_images or train_x.shape[0])}
        | {"fashion_test": report.inlier_bpd.numel(), "mnist_test": report.outlier_bpd.numel()},
        "samples": samples,
        "auroc": report.auroc,
        "plot": str(report.plot),
        "eval_seconds": since(scoring),
    }
    if hasattr(lm.model, "gamma"):
        variance = float(lm.model.gamma.detach())
        val = last.get("val") or {}
        column |= {
            "gamma": variance,  # genkit's gamma: the variance of N(y; mu_x(z), gamma I)
            "gamma_std": math.sqrt(variance),
            "val_kl_nats": val.get("kl"),
            "val_mse": val.get("mse"),
            "on_mean_image": val.get("kl", 0.0) < 1.0 or val.get("mse", 1.0) >= 0.9 * MEAN_IMAGE_MSE,
        }
    print(json.dumps(column), flush=True)
    return column


def heading(column: dict) -> str:
    return f"VAE kappa={column['kappa']}" if column["model"] == "gammavae" else f"flow ({column['model']})"


def markdown(columns: list[dict]) -> str:
    """The table in the paper's layout: one row per split (and gamma), one column per model."""
    flows = [c for c in columns if c["model"] != "gammavae"]
    vaes = sorted((c for c in columns if c["model"] == "gammavae"), key=lambda c: c["kappa"])
    columns = flows + vaes
    rows = [
        ("Fashion-MNIST train", "fashion_train_bpd", "{:.3f} ± {:.3f}"),
        ("Fashion-MNIST test", "fashion_test_bpd", "{:.3f} ± {:.3f}"),
        ("MNIST test", "mnist_test_bpd", "{:.3f} ± {:.3f}"),
        ("AUROC (MNIST = outlier)", "auroc", "{:.3f}"),
        ("gamma, variance", "gamma", "{:.2e}"),
        ("gamma, standard deviation", "gamma_std", "{:.4f}"),
        ("validation KL (nats)", "val_kl_nats", "{:.1f}"),
        ("validation squared error", "val_mse", "{:.4f}"),
        ("on the mean image", "on_mean_image", "{}"),
        ("iterations", "iterations", "{}"),
        ("training wall / CPU minutes", "train_seconds", "{}"),
    ]
    lines = ["| | " + " | ".join(heading(c) for c in columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for label, key, form in rows:
        cells = []
        for c in columns:
            value = c.get(key)
            if value is None:
                cells.append("-")
            elif key == "train_seconds":
                cells.append(f"{value['wall'] / 60:.0f} / {value['cpu'] / 60:.0f}")
            elif "±" in form:
                cells.append(form.format(value, c.get(key + "_stderr", float("nan"))))
            else:
                cells.append(form.format(value))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write(out: Path, record: dict) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {out}")


def combine(paths: list[Path], out: Path) -> None:
    """One table from the JSON files of processes that each trained some of the columns."""
    parts = [json.loads(p.read_text()) for p in paths]
    columns = [c for part in parts for c in part["columns"]]
    table = markdown(columns)
    print(table)
    keep = ("args", "date", "torch_threads", "load_average_before", "load_average_after", "seconds")
    record = {
        "parts": {str(path): {k: part.get(k) for k in keep} for path, part in zip(paths, parts)},
        "columns": columns,
        "table": table,
        "paper_table1": {str(k): v for k, v in PAPER.items()},
    }
    write(out, record)


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
    p.add_argument(
        "--iterations", type=int, default=0, help="train the VAEs this many steps, rounded up to whole epochs"
    )
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument(
        "--gamma-lr-scale", type=float, default=10.0, help="learning rate of log gamma relative to the networks'"
    )
    p.add_argument(
        "--init-log-gamma", type=float, default=-5.0, help="log of gamma (a variance) before training (model default)"
    )
    p.add_argument("--compile", action="store_true", help="train with torch.compile (train.compile)")
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
    p.add_argument("--histograms", type=Path, default=None, help="copy the flow's and these kappas' histograms here")
    p.add_argument("--histogram-kappas", type=int, nargs="*", default=[16, 512])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--combine", type=Path, nargs="+", default=None, help="merge these results into --out instead")
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/ood_table.json"))
    args = p.parse_args()
    if args.combine:
        return combine(args.combine, args.out)

    pm = get_plugin_manager()
    genkit.register_subset(SUBSET, "fashion-mnist", description="the first N Fashion-MNIST training images")
    train_x = genkit.load_dataset("fashion-mnist", args.data_dir).train_x[: args.train_images or None]
    epochs = args.epochs
    if args.iterations:
        trained = train_x.shape[0] - min(args.val_size, train_x.shape[0] // 6)
        epochs = math.ceil(args.iterations / steps_per_epoch(trained, args.batch_size, 1))
    load_before, started = os.getloadavg(), clock()
    columns = []
    if args.no_flow or "realnvp" not in pm.registries["models"].names():
        print("flow column: " + ("--no-flow" if args.no_flow else "the realnvp model is not installed"), flush=True)
    else:
        flow_sets = dict(s.split("=", 1) for s in args.flow_set)
        flow_epochs = args.flow_epochs or args.epochs
        columns.append(run_model("realnvp", flow_sets, args, train_x, flow_epochs, args.flow_samples))
    for kappa in args.kappas:
        sets = {
            "kappa": kappa,
            "width": args.width,
            "latent_dim": args.latent_dim,
            "gamma_lr_scale": args.gamma_lr_scale,
            "init_log_gamma": args.init_log_gamma,
        }
        columns.append(run_model("gammavae", sets, args, train_x, epochs, args.samples))
    if args.histograms:
        args.histograms.mkdir(parents=True, exist_ok=True)
        for c in columns:
            if c["model"] != "gammavae" or c["kappa"] in args.histogram_kappas:
                name = f"ood-{c['model']}" + (f"-kappa{c['kappa']}" if c["model"] == "gammavae" else "") + ".png"
                shutil.copyfile(c["plot"], args.histograms / name)
    table = markdown(columns)
    print(table)
    write(
        args.out,
        {
            "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "torch_threads": torch.get_num_threads(),
            "date": time.strftime("%Y-%m-%d"),
            "load_average_before": load_before,
            "load_average_after": os.getloadavg(),
            "seconds": since(started),
            "columns": columns,
            "table": table,
            "paper_table1": {str(k): v for k, v in PAPER.items()},
        },
    )


if __name__ == "__main__":
    main()
