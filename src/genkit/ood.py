"""Out-of-distribution detection by a model's own likelihood: the AUROC of a score."""

from __future__ import annotations

import numpy as np


def auroc(inlier_scores, outlier_scores) -> float:
    """Area under the ROC curve of a score that should be higher on outliers.

    It is the probability that a random outlier scores above a random inlier,
    ties counting one half: the Mann-Whitney U statistic of the outliers over
    the number of pairs.

    Args:
        inlier_scores, outlier_scores: 1-D arrays or tensors (for example bits per dimension).
    """
    inl = np.asarray(inlier_scores, dtype=np.float64).ravel()
    out = np.asarray(outlier_scores, dtype=np.float64).ravel()
    if inl.size == 0 or out.size == 0:
        raise ValueError("AUROC needs at least one inlier and one outlier score")
    from scipy.stats import mannwhitneyu  # here, not at import: scipy.stats holds ~60 MB that training never needs

    u = mannwhitneyu(out, inl, alternative="two-sided").statistic
    return float(u) / (inl.size * out.size)
