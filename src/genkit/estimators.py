"""Likelihood estimators shared by latent-variable models."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

LOG_2PI = math.log(2 * math.pi)


def importance_weighted_log_likelihood(
    mu: torch.Tensor,
    logvar: torch.Tensor,
    log_px_given_z: Callable[[torch.Tensor], torch.Tensor],
    samples: int,
    max_rows: int = 50_000,
) -> torch.Tensor:
    """Importance-weighted estimate of log p(x) (Burda et al. 2016), per example.

    log (1/K) sum_k p(x|z_k) p(z_k) / q(z_k|x), with z_k drawn from the diagonal
    Gaussian posterior q = N(mu, exp(logvar)) and a standard normal prior. K = 1
    is the ELBO in expectation; the estimate tightens as K grows.

    Args:
        mu, logvar: the posterior's parameters, ``[B, k]``.
        log_px_given_z: ``z [S, B, k] -> log p(x | z) [S, B]`` for the model's decoder.
        samples: K.
        max_rows: at most this many decoder rows (S * B) per pass, to bound memory.
    """
    std = torch.exp(0.5 * logvar)
    b, k = mu.shape
    per_pass = max(1, max_rows // b)
    log_w = []
    for start in range(0, samples, per_pass):
        s = min(per_pass, samples - start)
        eps = torch.randn(s, b, k, device=mu.device, dtype=mu.dtype)
        z = mu + eps * std
        log_pz = -0.5 * (z.pow(2).sum(-1) + k * LOG_2PI)
        log_qz = -0.5 * (eps.pow(2).sum(-1) + logvar.sum(-1) + k * LOG_2PI)
        log_w.append(log_px_given_z(z) + log_pz - log_qz)
    return torch.logsumexp(torch.cat(log_w), dim=0) - math.log(samples)
