"""judge_fd of a diffusion run against the number of sampling steps, with its sampler.

Draws ``--samples`` images (10,000 for figures comparable with `genkit score`; fewer bias the
Frechet distance upwards) at each step count with one fixed seed, and scores them with the
dataset's judge against the test split, as the `fd` and `coverage` metrics do. Writes one JSON
line per step count and, with ``--plot``, a figure of judge_fd against steps.

    OMP_NUM_THREADS=1 uv run python benchmarks/diffusion_judge_steps.py RUN --sampler ddim \\
        --steps 5 10 20 50 100 1000 --samples 10000 --plot docs/images/diffusion-fd-steps.png
"""

from __future__ import annotations

import argparse
import json
import time

import torch

import genkit


def judge_rows(run: str, sampler_name: str, steps_list: list[int], n: int, batch: int, seed: int):
    from genkit_diffusion.samplers import AncestralSampler, DDIMSampler, EulerSampler, HeunSampler
    from genkit_judge.metrics import class_coverage, class_histogram, frechet_distance, judge_outputs
    from genkit_judge.store import load_judge

    lm = genkit.load(run, "cpu")
    dataset = lm.meta["data"]["name"]
    data = genkit.load_dataset(dataset, lm.train_config.data_dir)
    judge = load_judge(dataset, "cpu")
    reference = judge_outputs(
        judge, (data.test_x[i : i + 1000].float() / 255 for i in range(0, data.test_x.shape[0], 1000))
    )
    sampler = {"ddim": DDIMSampler, "ancestral": AncestralSampler, "euler": EulerSampler, "heun": HeunSampler}[
        sampler_name
    ]()
    classes = judge.num_classes
    for steps in steps_list:
        generator = torch.Generator().manual_seed(seed)
        start = time.perf_counter()

        def batches(generator=generator, steps=steps):
            for first in range(0, n, batch):
                b = min(batch, n - first)
                labels = torch.arange(first, first + b) % classes if lm.model.conditioning == "label" else None
                with torch.no_grad():
                    yield sampler.sample(lm.model, b, condition=labels, generator=generator, steps=steps)

        samples = judge_outputs(judge, batches())
        row = {
            "sampler": sampler_name,
            "steps": steps,
            "samples": n,
            "judge_fd": round(frechet_distance(samples.features, reference.features), 2),
            **{k: round(v, 4) for k, v in class_coverage(samples.labels, classes).items()},
            "class_histogram": [round(p, 4) for p in class_histogram(samples.labels, classes)],
            "seconds": round(time.perf_counter() - start, 1),
        }
        if lm.model.conditioning == "label":
            row["label_accuracy"] = round(float((samples.labels == torch.arange(n) % classes).double().mean()), 4)
        print(json.dumps(row), flush=True)
        yield row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("--sampler", default="ddim", choices=["ddim", "ancestral", "euler", "heun"])
    parser.add_argument("--steps", type=int, nargs="+", default=[5, 10, 20, 50, 100, 1000])
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=250)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--plot", help="PNG of judge_fd against steps")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = list(judge_rows(args.run, args.sampler, args.steps, args.samples, args.batch, args.seed))
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(5, 3.5))
        ax.plot([r["steps"] for r in rows], [r["judge_fd"] for r in rows], marker="o", label=args.sampler)
        ax.set_xscale("log")
        ax.set_xlabel("sampling steps")
        ax.set_ylabel(f"judge_fd ({args.samples} samples)")
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(args.plot, dpi=120)


if __name__ == "__main__":
    main()
