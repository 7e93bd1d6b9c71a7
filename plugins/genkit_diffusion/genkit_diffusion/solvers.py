"""The iterative samplers, as plain loops over a model's predictions.

Each takes the starting noise image ``z`` ([-1, 1] scale) and returns the final
state in the same scale; ``progress(done, total)`` is called after every step.
Any fresh noise (ancestral sampling) comes from ``generator``.
"""

from __future__ import annotations

import torch


def _step_times(x: torch.Tensor, value) -> torch.Tensor:
    return torch.full((x.shape[0],), value, device=x.device)


def _report(progress, done: int, total: int) -> None:
    if progress is not None:
        progress(done, total)


def ddim(model, z, condition, steps: int, guidance, progress=None) -> torch.Tensor:
    """DDIM with eta = 0 on an evenly spaced subsequence of the DDPM steps: deterministic given z."""
    schedule = model.schedule
    times = schedule.respaced(steps)[::-1]
    x = z
    for i, t in enumerate(times):
        ab = schedule.alpha_bar[t]
        ab_prev = schedule.alpha_bar[times[i + 1]] if i + 1 < len(times) else torch.ones_like(ab)
        eps = model.eps(x, _step_times(x, t).long(), condition, guidance)
        x0 = ((x - (1 - ab).sqrt() * eps) / ab.sqrt()).clamp(-1, 1)
        eps = (x - ab.sqrt() * x0) / (1 - ab).sqrt()  # consistent with the clipped x0
        x = ab_prev.sqrt() * x0 + (1 - ab_prev).sqrt() * eps
        _report(progress, i + 1, len(times))
    return x


LOWER_ORDER_FINAL = 15  # fewer steps than this: the step before the last is first order too


def dpm_solver_pp_2m(model, z, condition, steps: int, guidance, progress=None) -> torch.Tensor:
    """DPM-Solver++ 2M (Lu et al. 2022, "DPM-Solver++", algorithm 2): the second-order multistep
    solver of the probability-flow ODE in data prediction, on DDIM's subsequence of the DDPM steps.

    With alpha = sqrt(abar), sigma = sqrt(1 - abar) and lambda = log(alpha / sigma), a step of size
    h in lambda from s to t is x_t = (sigma_t / sigma_s) x_s - alpha_t (exp(-h) - 1) D, where D is the
    clipped x0 prediction at s (first order: DDIM) corrected by the previous step's prediction,
    D = (1 + 1 / 2r) x0_s - (1 / 2r) x0_prev with r = h_prev / h. The first step has no previous
    prediction and the last goes to the clean image (sigma 0, infinite h), so both are first order.
    """
    schedule = model.schedule
    times = schedule.respaced(steps)[::-1]
    x, previous = z, None  # previous: (x0 prediction, its lambda) of the last step
    for i, t in enumerate(times):
        ab = schedule.alpha_bar[t].double()  # float64 coefficients: lambda near abar = 1 needs them
        eps = model.eps(x, _step_times(x, t).long(), condition, guidance)
        x0 = ((x - (1 - ab).sqrt() * eps) / ab.sqrt()).clamp(-1, 1)
        lam = _log_snr_half(ab)
        if i + 1 == len(times):
            x = x0  # sigma 0: the data prediction is the solution
        else:
            ab_next = schedule.alpha_bar[times[i + 1]].double()
            h = _log_snr_half(ab_next) - lam
            d = x0
            if previous is not None and not (len(times) < LOWER_ORDER_FINAL and i + 2 == len(times)):
                x0_prev, lam_prev = previous
                half_over_r = 0.5 * h / (lam - lam_prev)
                d = (1 + half_over_r) * x0 - half_over_r * x0_prev
            sigma_ratio = ((1 - ab_next) / (1 - ab)).sqrt()
            x = sigma_ratio * x - ab_next.sqrt() * torch.expm1(-h) * d
            previous = (x0, lam)
        _report(progress, i + 1, len(times))
    return x


def _log_snr_half(alpha_bar: torch.Tensor) -> torch.Tensor:
    """lambda = log(alpha / sigma) = log(abar / (1 - abar)) / 2, half the log signal-to-noise ratio."""
    return 0.5 * (alpha_bar.log() - torch.log1p(-alpha_bar))


def ancestral(model, z, condition, steps: int, guidance, generator=None, progress=None) -> torch.Tensor:
    """DDPM's ancestral sampler, x_{t-1} ~ q(x_{t-1} | x_t, x0_hat), on ``steps`` of the T steps
    (all T: Ho et al.'s algorithm 2 with the posterior variance; fewer: the respaced chain)."""
    schedule = model.schedule
    times = schedule.respaced(steps)[::-1]
    x = z
    for i, t in enumerate(times):
        ab = schedule.alpha_bar[t]
        ab_prev = schedule.alpha_bar[times[i + 1]] if i + 1 < len(times) else torch.ones_like(ab)
        alpha = ab / ab_prev
        beta = 1 - alpha
        eps = model.eps(x, _step_times(x, t).long(), condition, guidance)
        x0 = ((x - (1 - ab).sqrt() * eps) / ab.sqrt()).clamp(-1, 1)
        mean = (ab_prev.sqrt() * beta * x0 + alpha.sqrt() * (1 - ab_prev) * x) / (1 - ab)
        if i + 1 < len(times):
            variance = beta * (1 - ab_prev) / (1 - ab)
            noise = torch.randn(x.shape, generator=generator, device=generator.device if generator else x.device)
            x = mean + variance.sqrt() * noise.to(x.device)
        else:
            x = mean
        _report(progress, i + 1, len(times))
    return x


def euler(model, z, condition, steps: int, guidance, progress=None) -> torch.Tensor:
    """Euler steps of dx/dt = v(x, t) from noise (t = 0) to data (t = 1)."""
    x, dt = z, 1.0 / steps
    for i in range(steps):
        x = x + dt * model.velocity(x, _step_times(x, i * dt), condition, guidance)
        _report(progress, i + 1, steps)
    return x


def heun(model, z, condition, steps: int, guidance, progress=None) -> torch.Tensor:
    """Heun's second-order steps (two velocity evaluations per step) of the same ODE."""
    x, dt = z, 1.0 / steps
    for i in range(steps):
        t0, t1 = i * dt, (i + 1) * dt
        v0 = model.velocity(x, _step_times(x, t0), condition, guidance)
        guess = x + dt * v0
        v1 = model.velocity(guess, _step_times(x, t1), condition, guidance)
        x = x + dt * 0.5 * (v0 + v1)
        _report(progress, i + 1, steps)
    return x
