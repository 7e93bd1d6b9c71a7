"""The DDPM noise schedule and its closed forms (Ho et al. 2020, eqs. 4, 6, 7).

Indices are 0-based: step ``t`` in 0..T-1 is the paper's t+1, so ``alpha_bar[0]``
is the first, least noisy level and ``alpha_bar[T-1]`` the last.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def linear_betas(timesteps: int) -> torch.Tensor:
    """Ho et al.'s 1e-4 .. 0.02, rescaled so other T keep the same end points of alpha-bar."""
    scale = 1000 / timesteps
    return torch.linspace(scale * 1e-4, scale * 0.02, timesteps, dtype=torch.float64).clamp(max=0.999)


def cosine_betas(timesteps: int, offset: float = 0.008) -> torch.Tensor:
    """Nichol and Dhariwal's cosine schedule: alpha-bar = cos^2 of a shifted time, betas clipped at 0.999."""
    steps = torch.arange(timesteps + 1, dtype=torch.float64) / timesteps
    f = torch.cos((steps + offset) / (1 + offset) * math.pi / 2) ** 2
    alpha_bar = f / f[0]
    return (1 - alpha_bar[1:] / alpha_bar[:-1]).clamp(max=0.999)


class NoiseSchedule(nn.Module):
    """Betas and everything derived from them, as non-persistent float32 buffers
    (recomputed from the config, so they never need to be in a checkpoint)."""

    def __init__(self, kind: str, timesteps: int):
        super().__init__()
        betas = linear_betas(timesteps) if kind == "linear" else cosine_betas(timesteps)
        alphas = 1 - betas
        alpha_bar = torch.cumprod(alphas, 0)
        alpha_bar_prev = torch.cat([torch.ones(1, dtype=torch.float64), alpha_bar[:-1]])
        posterior_variance = betas * (1 - alpha_bar_prev) / (1 - alpha_bar)
        values = {
            "betas": betas,
            "alphas": alphas,
            "alpha_bar": alpha_bar,
            "alpha_bar_prev": alpha_bar_prev,
            "posterior_variance": posterior_variance,
            "snr": alpha_bar / (1 - alpha_bar),
            "posterior_mean_coef_x0": betas * alpha_bar_prev.sqrt() / (1 - alpha_bar),
            "posterior_mean_coef_xt": (1 - alpha_bar_prev) * alphas.sqrt() / (1 - alpha_bar),
        }
        for name, value in values.items():
            self.register_buffer(name, value.float(), persistent=False)
        self.timesteps = timesteps

    @staticmethod
    def _at(values: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return values[t].view(-1, 1, 1, 1)

    def q_sample(self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """x_t ~ q(x_t | x_0) = N(sqrt(abar_t) x_0, (1 - abar_t) I), with the given noise."""
        ab = self._at(self.alpha_bar, t)
        return ab.sqrt() * x0 + (1 - ab).sqrt() * noise

    def posterior(self, x0: torch.Tensor, xt: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and variance of q(x_{t-1} | x_t, x_0)."""
        mean = self._at(self.posterior_mean_coef_x0, t) * x0 + self._at(self.posterior_mean_coef_xt, t) * xt
        return mean, self._at(self.posterior_variance, t)

    def respaced(self, steps: int) -> list[int]:
        """``steps`` timesteps evenly spread over 0..T-1, ending at T-1 (DDIM's subsequence), ascending."""
        if steps >= self.timesteps:
            return list(range(self.timesteps))
        return (
            sorted({round(i * (self.timesteps - 1) / (steps - 1)) for i in range(steps)})
            if steps > 1
            else [self.timesteps - 1]
        )
