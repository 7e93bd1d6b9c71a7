"""Few-step samplers of a DDPM run against DDIM: how near each lands to the converged ODE solution,
and how many images a second each draws, interleaved.

Every sampler starts from the same noise images (one seed) through genkit's own drawing path,
and the deterministic ones solve the same probability-flow ODE, so their distance to a
many-step DDIM solution from that noise measures the solver's error on the real network
(mean absolute difference of the images in [0, 1], and its largest per image). That is a
measure of the solver, not of sample quality, which the judge's judge_fd gives
(benchmarks/diffusion_judge_steps.py --sampler dpm-solver++).

Speed: per round, each sampler draws one batch in turn (the order rotating from round to
round), so a change of the machine's load falls on all of them alike; images/s is reported as
the median over rounds, and each sampler's speed-up over the first is the median of the
per-round ratios.

    OMP_NUM_THREADS=2 uv run python benchmarks/diffusion_solvers.py runs/ddpm \\
        --samplers ddim:50 dpm-solver++:10 dpm-solver++:15 dpm-solver++:20 ddim:20 \\
        --reference-steps 500 --samples 128 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

import torch

import genkit
from genkit.drawing import drawing


def _draw(lm, sampler: str, steps: int, n: int, seed: int) -> torch.Tensor:
    draw = drawing(lm.model, model_name=lm.name, sampler=sampler, options={"steps": steps})
    with torch.no_grad():
        return draw(n, generator=torch.Generator().manual_seed(seed))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="run directory or checkpoint of a DDPM model")
    parser.add_argument(
        "--samplers", nargs="+", default=["ddim:50", "dpm-solver++:10", "dpm-solver++:15", "dpm-solver++:20"]
    )
    parser.add_argument("--reference-steps", type=int, default=500, help="DDIM steps of the reference solution")
    parser.add_argument("--samples", type=int, default=128, help="images compared (one batch)")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds, one batch per sampler each")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    lm = genkit.load(args.run, "cpu")
    lm.model.eval()
    entries = [(name, int(steps)) for name, steps in (s.rsplit(":", 1) for s in args.samplers)]

    reference = _draw(lm, "ddim", args.reference_steps, args.samples, args.seed)
    rows = []
    for name, steps in entries:
        images = _draw(lm, name, steps, args.samples, args.seed)
        per_image = (images - reference).abs().flatten(1).mean(1)
        rows.append(
            {
                "sampler": name,
                "steps": steps,
                "mean_abs_diff_to_reference": round(per_image.mean().item(), 4),
                "worst_image_mean_abs_diff": round(per_image.max().item(), 4),
            }
        )
        print(json.dumps(rows[-1]), flush=True)

    seconds = {i: [] for i in range(len(entries))}
    for r in range(args.rounds):
        order = list(range(len(entries)))
        order = order[r % len(order) :] + order[: r % len(order)]
        for i in order:
            start = time.perf_counter()
            _draw(lm, *entries[i], args.samples, args.seed + 1 + r)
            seconds[i].append(time.perf_counter() - start)
    for i, row in enumerate(rows):
        row["images_per_second"] = round(args.samples / statistics.median(seconds[i]), 2)
        ratios = [first / mine for first, mine in zip(seconds[0], seconds[i])]
        row[f"speedup_vs_{entries[0][0]}_{entries[0][1]}"] = round(statistics.median(ratios), 2)
    summary = {
        "run": args.run,
        "reference": f"ddim:{args.reference_steps}",
        "samples": args.samples,
        "rounds": args.rounds,
        "threads": torch.get_num_threads(),
        "machine": platform.processor() or platform.machine(),
        "rows": rows,
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
