"""judge_fd of a diffusion run against the number of sampling steps, with its sampler.

Draws ``--samples`` images at each step count with one fixed seed, through genkit's own
sampling path (the same one `genkit sample` and `genkit score` use), and scores them with the
dataset's judge against the test split, as the `fd` and `coverage` metrics do. Fewer than
10,000 samples bias the Frechet distance upwards, so each call also scores that many real
training images the same way: the floor for that sample count.

Each row is printed and, with ``--jsonl``, appended to a file; ``--plot`` draws every row of
that file (all runs and samplers scored into it), judge_fd against steps on a log axis.

    OMP_NUM_THREADS=2 uv run python benchmarks/diffusion_judge_steps.py runs/ddpm --sampler ddim \\
        --steps 5 10 20 50 100 1000 --samples 500 --jsonl benchmarks/results/diffusion_steps.jsonl
    uv run python benchmarks/diffusion_judge_steps.py --jsonl benchmarks/results/diffusion_steps.jsonl \\
        --plot docs/images/diffusion-fd-steps.png
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

import genkit
from genkit.drawing import drawing


def _judge_and_reference(lm):
    from genkit_judge.metrics import judge_outputs
    from genkit_judge.store import load_judge

    dataset = lm.meta["data"]["name"]
    data = genkit.load_dataset(dataset, lm.train_config.data_dir)
    judge = load_judge(dataset, "cpu")
    reference = judge_outputs(
        judge, (data.test_x[i : i + 1000].float() / 255 for i in range(0, len(data.test_x), 1000))
    )
    return data, judge, reference


def _row(judge, reference, images_batches, n: int, **fields) -> dict:
    from genkit_judge.metrics import class_coverage, class_histogram, frechet_distance, judge_outputs

    start = time.perf_counter()
    outputs = judge_outputs(judge, images_batches)
    row = {
        **fields,
        "samples": n,
        "judge_fd": round(frechet_distance(outputs.features, reference.features), 2),
        **{k: round(v, 4) for k, v in class_coverage(outputs.labels, judge.num_classes).items()},
        "class_histogram": [round(p, 4) for p in class_histogram(outputs.labels, judge.num_classes)],
        "seconds": round(time.perf_counter() - start, 1),
    }
    return row, outputs


def score_steps(run: str, sampler: str, steps_list: list[int], n: int, batch: int, seed: int, guidance):
    lm = genkit.load(run, "cpu")
    data, judge, reference = _judge_and_reference(lm)
    classes = judge.num_classes
    label = Path(run).name
    sampler = sampler or lm.model.default_sampler
    real = data.train_x[torch.randperm(len(data.train_x), generator=torch.Generator().manual_seed(seed))[:n]]
    row, _ = _row(
        judge, reference, (real[i : i + batch].float() / 255 for i in range(0, n, batch)), n, run=label, sampler="real"
    )
    yield row
    conditional = lm.model.conditioning == "label"
    options = {} if guidance is None else {"guidance": guidance}
    for steps in steps_list:
        generator = torch.Generator().manual_seed(seed)
        draw = drawing(lm.model, model_name=lm.name, sampler=sampler, options={"steps": steps, **options})

        def batches(draw=draw, generator=generator):
            for first in range(0, n, batch):
                b = min(batch, n - first)
                labels = torch.arange(first, first + b) % classes if conditional else None
                yield draw(b, condition=labels, generator=generator)

        row, outputs = _row(
            judge, reference, batches(), n, run=label, objective=lm.model.objective, sampler=sampler, steps=steps
        )
        if conditional:
            row["guidance"] = lm.model.resolve_guidance(guidance)
            row["label_accuracy"] = round(float((outputs.labels == torch.arange(n) % classes).double().mean()), 4)
        yield row


def plot(rows: list[dict], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    curves: dict[tuple, list[dict]] = {}
    for r in rows:
        if r["sampler"] != "real":
            curves.setdefault((r["run"], r.get("objective", ""), r["sampler"], r["samples"]), []).append(r)
    for (run, objective, sampler, _n), points in curves.items():
        points = sorted(points, key=lambda r: r["steps"])
        ax.plot(
            [p["steps"] for p in points],
            [p["judge_fd"] for p in points],
            marker="o",
            label=f"{objective}, {sampler} ({run})",
        )
    floors = {r["samples"]: r["judge_fd"] for r in rows if r["sampler"] == "real"}
    for n, fd in floors.items():
        ax.axhline(fd, color="grey", linestyle="--", linewidth=1, label=f"real training images ({n})")
    ax.set_xscale("log")
    ax.set_xlabel("sampling steps")
    ax.set_ylabel(f"judge_fd ({', '.join(str(n) for n in sorted({k[3] for k in curves}))} samples)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", nargs="?", help="run directory or checkpoint (omit to only --plot)")
    parser.add_argument("--sampler", default=None, help="ddim, ancestral, euler, heun (default: the model's)")
    parser.add_argument("--steps", type=int, nargs="+", default=[5, 10, 20, 50, 100, 1000])
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--guidance", type=float, default=None, help="conditional models (default: the model's)")
    parser.add_argument("--batch", type=int, default=250)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jsonl", help="append the rows to this file")
    parser.add_argument("--plot", help="PNG of judge_fd against steps for every row in --jsonl")
    args = parser.parse_args()
    if args.run:
        for row in score_steps(args.run, args.sampler, args.steps, args.samples, args.batch, args.seed, args.guidance):
            print(json.dumps(row), flush=True)
            if args.jsonl:
                with open(args.jsonl, "a") as f:
                    f.write(json.dumps(row) + "\n")
    if args.plot:
        if not args.jsonl:
            parser.error("--plot draws the rows of --jsonl")
        plot([json.loads(line) for line in Path(args.jsonl).read_text().splitlines() if line.strip()], args.plot)


if __name__ == "__main__":
    main()
