"""CVAE against the regressor on middle-column completion, and label-conditional accuracy.

Trains, on MNIST (train split, validation held out as usual):
  1. the regressor baseline and a column-conditional CVAE, then scores both on
     the test split (the CVAE's conditional bound -ELBO and its importance-weighted
     -log p(x|c); the regressor's exact -log p(x|c); the MSE and pixel entropy of
     one completion per digit) and draws the completion figure;
  2. a label-conditional CVAE, whose samples for each label are classified by the
     MNIST judge (trained first if the user cache has none).

Where the judge exists it also classifies the completions of part 1. Every score
is on MNIST's test split, also when --train-size trains on a subset.

Prints one JSON summary and writes it to OUT/summary.json; figures go to OUT.

    uv run python benchmarks/cvae_completion.py --data-dir ../shared/data --out runs/cvae-bench
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import genkit


def register_subset(train_size: int) -> str:
    """A dataset ``mnist-first-N``: the first N MNIST training images and the whole test split,
    so a run fits a small machine; the test split scored is the same as for ``mnist``."""
    return genkit.register_subset(
        f"mnist-first-{train_size}", "mnist", train=train_size, description=f"first {train_size} MNIST training images"
    )


def train(model: str, dataset: str, out: Path, epochs: int, data_dir: str, sets: dict, quiet: bool) -> Path:
    overrides = {"train.dataset": dataset, "train.data_dir": data_dir, "train.epochs": epochs, **sets}
    reporter = genkit.Reporter() if quiet else None
    started = time.perf_counter()
    result = genkit.train(model, overrides=overrides, out=out, reporter=reporter)
    print(f"trained {model} {sets} in {time.perf_counter() - started:.0f}s -> {result.run.path}", flush=True)
    return result.run.path


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default=None, help="directory holding MNIST (default GENKIT_DATA_DIR)")
    p.add_argument("--out", default="runs/cvae-bench", help="directory for the three runs and the summary")
    p.add_argument("--epochs", type=int, default=10, help="epochs of the column CVAE and of the regressor")
    p.add_argument("--label-epochs", type=int, default=20, help="epochs of the label-conditional CVAE")
    p.add_argument("--iw-samples", type=int, default=100, help="importance samples of the CVAE's -log p(x|c) estimate")
    p.add_argument(
        "--train-size",
        type=int,
        default=None,
        help="train on the first N MNIST training images only (a sixth held out for validation)",
    )
    p.add_argument("--label-latent", type=int, default=2, help="latent size of the label-conditional CVAE")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    dataset = register_subset(args.train_size) if args.train_size else "mnist"
    train_part = f"the first {args.train_size:,} MNIST training images" if args.train_size else "MNIST train"
    summary: dict = {
        "data": f"{train_part} (a sixth at most, up to 10,000, held out for validation); scores on MNIST test",
        "args": vars(args),
    }

    from genkit_judge.store import has_judge
    from genkit_judge.training import train_judge

    if not has_judge("mnist"):
        report = train_judge("mnist", args.data_dir)
        print(f"trained the MNIST judge: test accuracy {report.test_accuracy:.4f}", flush=True)

    def score(run: Path, metrics: list[str], **options) -> dict:
        return genkit.score(run, metrics, dataset="mnist", data_dir=args.data_dir, **options).metrics()

    # 1. completion: regressor and column CVAE through the same loop
    reg = train("regressor", dataset, out / "regressor", args.epochs, args.data_dir, {}, args.quiet)
    cvae = train(
        "cvae", dataset, out / "cvae-column", args.epochs, args.data_dir, {"model.condition": "column"}, args.quiet
    )
    summary["regressor"] = score(reg, ["nll", "completion"])
    summary["cvae_column"] = score(cvae, ["elbo", "completion"])
    summary["cvae_column"].update(score(cvae, ["nll"], samples=args.iw_samples))
    from genkit_cvae.completion import completion_figure

    summary["completion_figure"] = str(
        completion_figure(cvae, regressor=reg, data_dir=args.data_dir, out=out / "completion.png")
    )

    # 2. label-conditional samples, classified by the judge (10,000 of them, every label in turn)
    label_run = train(
        "cvae",
        dataset,
        out / "cvae-label",
        args.label_epochs,
        args.data_dir,
        {"model.condition": "label", "model.latent_dim": args.label_latent},
        args.quiet,
    )
    summary["cvae_label"] = score(label_run, ["elbo", "label-accuracy", "confidence"])
    summary["label_grid"] = str(genkit.sample(label_run, 100, out=out / "label_samples.png").path)
    summary["runs"] = {"regressor": str(reg), "cvae_column": str(cvae), "cvae_label": str(label_run)}
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
