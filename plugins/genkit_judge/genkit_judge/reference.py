"""Reference rows for the judge's metrics: real images scored as if they were samples."""

from __future__ import annotations

import torch

import genkit

from .metrics import all_metrics, class_histogram, judge_outputs
from .store import load_judge


def _batches(images: torch.Tensor, batch_size: int = 1000):
    for i in range(0, images.shape[0], batch_size):
        yield images[i : i + batch_size]


def reference_rows(
    dataset: str, data_dir: str | None = None, n: int = 10_000, seed: int = 0
) -> dict[str, dict[str, float]]:
    """Judge metrics of ``n`` training images (the floor: what a perfect sampler
    would score, up to sampling noise) and of ``n`` uniform-noise images (a
    model that learned nothing), each against the test split.
    """
    data = genkit.load_dataset(dataset, data_dir)
    judge = load_judge(dataset, shape=tuple(data.test_x.shape[1:]), num_classes=data.num_classes)
    gen = torch.Generator().manual_seed(seed)
    test = judge_outputs(judge, (b.float() / 255.0 for b in _batches(data.test_x)))
    pick = torch.randperm(data.train_x.shape[0], generator=gen)[:n]
    train = judge_outputs(judge, (b.float() / 255.0 for b in _batches(data.train_x[pick])))
    noise = judge_outputs(judge, _batches(torch.rand((n, *data.test_x.shape[1:]), generator=gen)))
    k = judge.num_classes
    rows = {}
    for name, outs in (("train images (floor)", train), ("uniform noise", noise)):
        rows[name] = {**all_metrics(outs, test, k), "histogram": class_histogram(outs.labels, k)}
    return rows
