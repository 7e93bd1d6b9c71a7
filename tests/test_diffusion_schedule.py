"""The DDPM noise schedule's closed forms against direct computations."""

import math

import pytest
import torch
from genkit_diffusion.schedule import NoiseSchedule, cosine_betas, linear_betas


@pytest.mark.parametrize("kind", ["linear", "cosine"])
def test_alpha_bar_is_the_running_product_of_one_minus_beta(kind):
    s = NoiseSchedule(kind, 200)
    product, direct = 1.0, []
    for beta in s.betas.double().tolist():
        product *= 1 - beta
        direct.append(product)
    assert torch.allclose(s.alpha_bar.double(), torch.tensor(direct, dtype=torch.float64), rtol=1e-5, atol=1e-7)
    assert s.alpha_bar[0] > 0.99 and s.alpha_bar[-1] < 1e-3  # nearly clean at the start, nearly noise at the end


def test_cosine_alpha_bar_follows_the_squared_cosine():
    s, offset = NoiseSchedule("cosine", 100), 0.008
    f = lambda u: math.cos((u + offset) / (1 + offset) * math.pi / 2) ** 2  # noqa: E731
    for t in (0, 10, 50, 80):  # 0-based step t is time (t + 1) / T, where betas are not clipped
        assert s.alpha_bar[t].item() == pytest.approx(f((t + 1) / 100) / f(0), rel=1e-4)


@pytest.mark.parametrize("kind", ["linear", "cosine"])
def test_posterior_mean_and_variance_match_gaussian_conditioning(kind):
    """q(x_{t-1} | x_t, x_0) ∝ q(x_t | x_{t-1}) q(x_{t-1} | x_0): the product of two Gaussians in x_{t-1}."""
    s = NoiseSchedule(kind, 300)
    betas = (linear_betas if kind == "linear" else cosine_betas)(300)  # float64, as the buffers were made
    generator = torch.Generator().manual_seed(0)
    x0 = torch.randn(4, 1, 3, 3, generator=generator, dtype=torch.float64)
    xt = torch.randn(4, 1, 3, 3, generator=generator, dtype=torch.float64)
    for step in (1, 7, 150, 299):
        t = torch.full((4,), step)
        beta = betas[step]
        alpha = 1 - beta
        ab_prev = torch.prod(1 - betas[:step])
        # precision-weighted combination of N(x_t / sqrt(alpha), beta / alpha) and N(sqrt(ab_prev) x0, 1 - ab_prev)
        precision = alpha / beta + 1 / (1 - ab_prev)
        variance = 1 / precision
        mean = variance * (alpha.sqrt() / beta * xt + ab_prev.sqrt() / (1 - ab_prev) * x0)
        got_mean, got_var = s.posterior(x0.float(), xt.float(), t)
        assert torch.allclose(got_var.double().flatten(), variance.expand(4), rtol=1e-4)
        assert torch.allclose(got_mean.double(), mean, rtol=1e-4, atol=1e-5)


def test_q_sample_has_the_marginal_moments():
    s = NoiseSchedule("linear", 1000)
    generator = torch.Generator().manual_seed(1)
    x0 = torch.full((20000, 1, 1, 1), 0.5)
    t = torch.full((20000,), 400)
    xt = s.q_sample(x0, t, torch.randn(x0.shape, generator=generator))
    ab = s.alpha_bar[400]
    assert xt.mean().item() == pytest.approx((ab.sqrt() * 0.5).item(), abs=0.02)
    assert xt.var().item() == pytest.approx((1 - ab).item(), rel=0.05)


def test_respaced_steps_span_the_chain():
    s = NoiseSchedule("linear", 1000)
    assert s.respaced(1) == [999]
    assert s.respaced(5) == [0, 250, 500, 749, 999] or s.respaced(5) == [0, 250, 500, 750, 999]
    assert s.respaced(1000) == list(range(1000)) and len(s.respaced(50)) == 50
