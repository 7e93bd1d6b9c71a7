"""The figures, computed by torch-fidelity's own functions from Inception features.

genkit chooses only what torch-fidelity leaves to its caller: KID's subset size (its default,
1,000, or the smaller set's size when a set has fewer images) and which images are compared.
Subset draws and the Inception Score's shuffle use torch-fidelity's default seed (2020), so the
same features give the same figures as ``torch_fidelity.calculate_metrics``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import genkit

if TYPE_CHECKING:
    import torch

#: The dimension of Inception's pool features (FID, KID, precision and recall).
POOL_DIM = 2048
#: torch-fidelity's defaults.
KID_SUBSET_SIZE = 1000
IS_SPLITS = 10
PR_NEIGHBOURHOOD = 3


def check_sizes(samples: int, reference: int, dim: int) -> list[str]:
    """Refuse sets too small for any figure; a note when a covariance cannot have full rank."""
    if min(samples, reference) < 2:
        raise genkit.GenkitError(
            f"a Frechet distance needs at least 2 images on each side (got {samples} and {reference})"
        )
    if min(samples, reference) <= dim:
        return [
            f"note: {min(samples, reference)} images give a covariance of rank below the {dim} feature dimensions, "
            "so FID is biased upwards; compare it only with figures from as many images (published FIDs use 10,000 "
            "or 50,000)"
        ]
    return []


def fid(samples: torch.Tensor, reference: torch.Tensor) -> float:
    from torch_fidelity.metric_fid import KEY_METRIC_FID, fid_features_to_statistics, fid_statistics_to_metric

    return fid_statistics_to_metric(
        fid_features_to_statistics(samples), fid_features_to_statistics(reference), verbose=False
    )[KEY_METRIC_FID]


def kid(samples: torch.Tensor, reference: torch.Tensor) -> tuple[float, float, int]:
    """(mean, standard deviation over subsets, subset size)."""
    from torch_fidelity.metric_kid import KEY_METRIC_KID_MEAN, KEY_METRIC_KID_STD, kid_features_to_metric

    size = min(KID_SUBSET_SIZE, samples.shape[0], reference.shape[0])
    out = kid_features_to_metric(samples, reference, kid_subset_size=size, verbose=False)
    return out[KEY_METRIC_KID_MEAN], out[KEY_METRIC_KID_STD], size


def inception_score(logits: torch.Tensor) -> tuple[float, float]:
    """(mean, standard deviation over torch-fidelity's 10 splits)."""
    from torch_fidelity.metric_isc import KEY_METRIC_ISC_MEAN, KEY_METRIC_ISC_STD, isc_features_to_metric

    if logits.shape[0] < IS_SPLITS:
        raise genkit.GenkitError(f"the Inception Score needs at least {IS_SPLITS} images (got {logits.shape[0]})")
    out = isc_features_to_metric(logits, splits=IS_SPLITS)
    return out[KEY_METRIC_ISC_MEAN], out[KEY_METRIC_ISC_STD]


def precision_recall(samples: torch.Tensor, reference: torch.Tensor) -> tuple[float, float]:
    """Improved precision and recall (Kynkaanniemi et al. 2019, k = 3) in Inception pool features."""
    from torch_fidelity.metric_prc import KEY_METRIC_PRECISION, KEY_METRIC_RECALL, prc_features_to_metric

    if min(samples.shape[0], reference.shape[0]) <= PR_NEIGHBOURHOOD:
        raise genkit.GenkitError(
            f"precision and recall need more than {PR_NEIGHBOURHOOD} images on each side "
            f"(got {samples.shape[0]} and {reference.shape[0]})"
        )
    out = prc_features_to_metric(
        samples, reference, prc_neighborhood=PR_NEIGHBOURHOOD, save_cpu_ram=True, verbose=False
    )
    return out[KEY_METRIC_PRECISION], out[KEY_METRIC_RECALL]
