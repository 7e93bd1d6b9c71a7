"""Sample-quality statistics in the judge's feature space.

Everything here works on the judge's outputs for two sets of images (samples
and reference test images): penultimate features ``[N, D]`` and class
probabilities ``[N, K]``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy import linalg


@dataclass
class JudgeOutputs:
    """The judge's view of a set of images."""

    features: torch.Tensor  # [N, D] penultimate activations
    probs: torch.Tensor  # [N, K] class probabilities

    @property
    def labels(self) -> torch.Tensor:
        return self.probs.argmax(1)


@torch.no_grad()
def judge_outputs(judge, images_batches) -> JudgeOutputs:
    """Run the judge over an iterable of image batches in [0, 1]."""
    feats, probs = [], []
    for images in images_batches:
        f = judge.features(images)
        feats.append(f)
        probs.append(torch.softmax(judge.head(f), dim=1))
    return JudgeOutputs(torch.cat(feats).double().cpu(), torch.cat(probs).double().cpu())


def frechet_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """Frechet distance between Gaussians fitted to two feature sets:
    |mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2))."""
    a, b = a.double().numpy(), b.double().numpy()
    mu_a, mu_b = a.mean(0), b.mean(0)
    s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    # tr (S_a S_b)^(1/2) = tr (S_a^(1/2) S_b S_a^(1/2))^(1/2), and the latter is a symmetric
    # positive semi-definite matrix: eigenvalues stay real and stable even when dead
    # ReLU units make the covariances singular, where a general matrix square root is not.
    w, v = linalg.eigh(s_a)
    root_a = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    inner = linalg.eigvalsh(root_a @ s_b @ root_a)
    trace_root = np.sqrt(np.clip(inner, 0, None)).sum()
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(s_a) + np.trace(s_b) - 2.0 * trace_root)


def class_coverage(labels: torch.Tensor, num_classes: int) -> dict[str, float]:
    """Predicted-class histogram summary: classes seen, KL(histogram || uniform) in nats,
    and the smallest and largest class fractions."""
    counts = torch.bincount(labels, minlength=num_classes).double()
    p = counts / counts.sum()
    nz = p > 0
    kl = float((p[nz] * torch.log(p[nz] * num_classes)).sum())
    return {
        "classes_seen": int(nz.sum()),
        "class_kl_uniform": kl,
        "class_min_fraction": float(p.min()),
        "class_max_fraction": float(p.max()),
    }


def class_histogram(labels: torch.Tensor, num_classes: int) -> list[float]:
    counts = torch.bincount(labels, minlength=num_classes).double()
    return (counts / counts.sum()).tolist()


def mean_confidence(probs: torch.Tensor) -> float:
    """Mean over images of the judge's largest class probability."""
    return float(probs.max(1).values.mean())


def _kth_neighbour_radii(x: torch.Tensor, k: int, chunk: int = 2048) -> torch.Tensor:
    """Distance from each row of ``x`` to its k-th nearest other row."""
    radii = []
    for i in range(0, x.shape[0], chunk):
        d = torch.cdist(x[i : i + chunk], x)
        radii.append(d.kthvalue(k + 1, dim=1).values)  # k+1: the nearest is the point itself
    return torch.cat(radii)


def _fraction_inside(points: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor, chunk: int = 2048) -> float:
    inside = []
    for i in range(0, points.shape[0], chunk):
        d = torch.cdist(points[i : i + chunk], centres)
        inside.append((d <= radii.unsqueeze(0)).any(1))
    return float(torch.cat(inside).double().mean())


def precision_recall(real: torch.Tensor, fake: torch.Tensor, k: int = 3, seed: int = 0) -> dict[str, float]:
    """Improved precision and recall (Kynkaanniemi et al. 2019) with k-nearest-neighbour balls.

    Precision: the fraction of samples inside the real manifold estimate; recall:
    the fraction of real images inside the samples' one. Both sets are cut to the
    same size, since the ball radii shrink as a set grows.
    """
    n = min(real.shape[0], fake.shape[0])
    gen = torch.Generator().manual_seed(seed)
    real = real[torch.randperm(real.shape[0], generator=gen)[:n]].float()
    fake = fake[torch.randperm(fake.shape[0], generator=gen)[:n]].float()
    if n <= k:
        return {"judge_precision": math.nan, "judge_recall": math.nan}
    return {
        "judge_precision": _fraction_inside(fake, real, _kth_neighbour_radii(real, k)),
        "judge_recall": _fraction_inside(real, fake, _kth_neighbour_radii(fake, k)),
    }


def all_metrics(samples: JudgeOutputs, reference: JudgeOutputs, num_classes: int) -> dict[str, float]:
    """Every judge metric of ``samples`` against ``reference`` (the floor uses train images as samples)."""
    return {
        "judge_fd": frechet_distance(samples.features, reference.features),
        **class_coverage(samples.labels, num_classes),
        "judge_confidence": mean_confidence(samples.probs),
        **precision_recall(reference.features, samples.features),
    }
