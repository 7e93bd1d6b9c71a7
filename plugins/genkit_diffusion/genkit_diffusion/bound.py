"""DDPM's variational bound on the 8-bit data (Ho et al. 2020, eq. 5), in nats.

-log p(x0) <= L_T + sum_{t=2}^{T} L_{t-1} + L_0, with the reverse process
p(x_{t-1} | x_t) = N(mu_theta(x_t, t), beta_t I) (the "fixed large" variance, which
is also the decoder's at t = 1) and L_0 the discretized Gaussian decoder over the
256 bins of each pixel. The sum of the T - 1 middle KL terms is estimated from
``timesteps`` of them, one drawn in each of that many equal strata of the steps
(stratified sampling), each with one draw of x_t; L_T and L_0 are computed
exactly. It is a bound, not an exact likelihood.
"""

from __future__ import annotations

import torch

BIN = 1.0 / 255.0  # half the width of one 8-bit bin on the [-1, 1] scale


def _gaussian_kl(mean_q, var_q, mean_p, var_p) -> torch.Tensor:
    """KL(N(mean_q, var_q) || N(mean_p, var_p)) summed over all but the batch dimension."""
    kl = 0.5 * (torch.log(var_p / var_q) + (var_q + (mean_q - mean_p) ** 2) / var_p - 1)
    return kl.flatten(1).sum(1)


def discretized_log_likelihood(x: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """log P(x) summed per image of 8-bit pixels x (on [-1, 1]) under N(mean, std^2) integrated
    over each pixel's bin, the outermost bins extended to infinity."""
    upper = (x + BIN - mean) / std
    lower = (x - BIN - mean) / std
    log_cdf_upper = torch.special.log_ndtr(upper)
    log_survival_lower = torch.special.log_ndtr(-lower)
    middle = torch.log((torch.special.ndtr(upper) - torch.special.ndtr(lower)).clamp_min(1e-12))
    log_p = torch.where(x < -1 + 1e-3, log_cdf_upper, torch.where(x > 1 - 1e-3, log_survival_lower, middle))
    return log_p.flatten(1).sum(1)


@torch.no_grad()
def variational_bound(model, x0: torch.Tensor, condition, timesteps: int, seed: int = 0) -> torch.Tensor:
    """Per-image upper bound on -log p(x0) in nats [B] (x0 on [-1, 1], exact 8-bit levels)."""
    schedule, T = model.schedule, model.config.timesteps
    generator = torch.Generator(device=x0.device).manual_seed(seed)
    b = x0.shape[0]

    def noise():
        return torch.randn(x0.shape, generator=generator, device=x0.device)

    def reverse_mean(xt, t):
        eps = model.eps(xt, t, condition)
        ab, alpha = schedule.alpha_bar[t].view(-1, 1, 1, 1), schedule.alphas[t].view(-1, 1, 1, 1)
        return (xt - (1 - alpha) / (1 - ab).sqrt() * eps) / alpha.sqrt()

    ab_T = schedule.alpha_bar[T - 1]
    prior = _gaussian_kl(ab_T.sqrt() * x0, (1 - ab_T).expand_as(x0), torch.zeros_like(x0), torch.ones_like(x0))

    middle = torch.zeros(b, device=x0.device)
    k = min(timesteps, T - 1)
    offsets = torch.rand(k, generator=generator, device=x0.device).tolist()  # one host sync, not one per step
    for i in range(k):
        # stratum i of the steps 1..T-1 (0-based), one step drawn uniformly inside it
        t_value = 1 + int(((i + offsets[i]) * (T - 1)) // k)
        t = torch.full((b,), min(t_value, T - 1), device=x0.device, dtype=torch.long)
        xt = schedule.q_sample(x0, t, noise())
        mean_q, var_q = schedule.posterior(x0, xt, t)
        var_p = schedule.betas[t].view(-1, 1, 1, 1)
        middle += _gaussian_kl(mean_q, var_q.expand_as(x0), reverse_mean(xt, t), var_p.expand_as(x0))
    middle *= (T - 1) / k

    t0 = torch.zeros(b, device=x0.device, dtype=torch.long)
    x1 = schedule.q_sample(x0, t0, noise())
    decoder = -discretized_log_likelihood(x0, reverse_mean(x1, t0), schedule.betas[0].sqrt())
    return prior + middle + decoder
