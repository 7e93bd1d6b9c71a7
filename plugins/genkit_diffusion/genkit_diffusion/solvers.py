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
