"""The shared maths of genkit.maths, each against an independent computation."""

from __future__ import annotations

import itertools
import math

import torch
from torch.distributions import Bernoulli, Independent, Normal, kl_divergence

import genkit


def test_gaussian_kl_matches_torch_distributions():
    g = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(5, 7, generator=g), torch.randn(5, 7, generator=g)
    q = Independent(Normal(mu, torch.exp(0.5 * logvar)), 1)
    p = Independent(Normal(torch.zeros(7), torch.ones(7)), 1)
    assert torch.allclose(genkit.gaussian_kl(mu, logvar), kl_divergence(q, p), atol=1e-5)
    assert torch.equal(genkit.gaussian_kl(torch.zeros(3, 4), torch.zeros(3, 4)), torch.zeros(3))


def test_reparameterize_draws_from_the_posterior_and_passes_gradients():
    mu = torch.tensor([[1.0, -2.0, 0.5]]).expand(200_000, 3).clone().requires_grad_()
    logvar = torch.tensor([[0.0, math.log(4.0), math.log(0.25)]]).expand(200_000, 3).clone().requires_grad_()
    z = genkit.reparameterize(mu, logvar, torch.Generator().manual_seed(1))
    assert torch.allclose(z.mean(0), torch.tensor([1.0, -2.0, 0.5]), atol=0.02)
    assert torch.allclose(z.std(0), torch.tensor([1.0, 2.0, 0.5]), rtol=0.01)
    z.sum().backward()
    assert torch.allclose(mu.grad, torch.ones_like(mu))  # dz/dmu = 1
    # dz/dlogvar = eps * sigma / 2 = (z - mu) / 2
    assert torch.allclose(logvar.grad, (z.detach() - mu.detach()) / 2, atol=1e-6)


def test_reparameterize_repeats_with_a_generator_and_uses_the_global_rng_without():
    mu, logvar = torch.zeros(4, 3), torch.zeros(4, 3)
    a = genkit.reparameterize(mu, logvar, torch.Generator().manual_seed(5))
    b = genkit.reparameterize(mu, logvar, torch.Generator().manual_seed(5))
    assert torch.equal(a, b)
    torch.manual_seed(9)
    c = genkit.reparameterize(mu, logvar)
    torch.manual_seed(9)
    assert torch.equal(c, torch.randn(4, 3))


def test_binarize_is_one_with_probability_x_over_255():
    x = torch.tensor([0, 51, 128, 204, 255], dtype=torch.uint8).repeat(100_000, 1)
    b = genkit.binarize(x, torch.Generator().manual_seed(2))
    assert b.dtype == torch.float32 and set(b.unique().tolist()) <= {0.0, 1.0}
    expected = Bernoulli(probs=x[0].float() / 255).mean
    assert torch.allclose(b.mean(0), expected, atol=0.005)
    assert b[:, 0].sum() == 0 and b[:, -1].all()  # black never, white always
    g = lambda: torch.Generator().manual_seed(3)  # noqa: E731
    assert torch.equal(genkit.binarize(x[:10], g()), genkit.binarize(x[:10], g()))


def test_discretization_is_the_log_volume_of_the_8_bit_bins():
    # A uniform density on [0, 1]^D has log-density 0; each of the 256^D bins then has
    # probability 256^-D, so log P = 0 - D log 256.
    for dims in (1, 3, 784):
        assert math.isclose(genkit.discretization_nats(dims), -dims * math.log(1 / genkit.LEVELS))
    assert genkit.LEVELS == torch.iinfo(torch.uint8).max + 1


def test_nats_to_bits_per_dim_matches_log2():
    p = torch.tensor([0.5, 1e-3, 0.9])
    dims = 7
    assert torch.allclose(genkit.nats_to_bpd(-torch.log(p), dims), -torch.log2(p) / dims)
    assert math.isclose(genkit.nats_to_bpd(784 * math.log(2), 784), 1.0)


def test_cycled_labels_go_through_every_class_in_turn():
    expected = list(itertools.islice(itertools.cycle(range(4)), 11))
    assert genkit.cycled_labels(11, 4).tolist() == expected
    # a batch starting at 6 continues the cycle where the previous one stopped
    assert genkit.cycled_labels(5, 4, start=6).tolist() == list(itertools.islice(itertools.cycle(range(4)), 6, 11))
