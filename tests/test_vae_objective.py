"""The VAE's bound and likelihood estimate against hand computations."""

import torch
from genkit_vae.model import BernoulliVAE, VAEConfig
from torch.distributions import Bernoulli, Normal, kl_divergence

import genkit

INFO = genkit.DataInfo("toy", (1, 2, 3), 10)


def tiny_vae(seed=0):
    torch.manual_seed(seed)
    return BernoulliVAE(VAEConfig(latent_dim=2, hidden=4), INFO)


def test_kl_and_elbo_match_torch_distributions():
    vae = tiny_vae()
    x = torch.tensor([[1.0, 0, 1, 1, 0, 0], [0, 1, 0, 0, 1, 1]])
    torch.manual_seed(7)
    recon, kl = vae.terms(x)
    # Recompute by hand with the same noise draw.
    mu, logvar = vae.encoder(x).chunk(2, dim=1)
    std = torch.exp(0.5 * logvar)
    torch.manual_seed(7)
    z = mu + torch.randn_like(mu) * std
    expected_kl = kl_divergence(Normal(mu, std), Normal(0.0, 1.0)).sum(1)
    expected_recon = -Bernoulli(logits=vae.decoder(z)).log_prob(x).sum(1)
    assert torch.allclose(kl, expected_kl, atol=1e-6)
    assert torch.allclose(recon, expected_recon, atol=1e-5)
    torch.manual_seed(7)
    assert torch.allclose(vae.elbo(genkit.Batch(x=x)), -(expected_recon + expected_kl), atol=1e-5)


def test_kl_is_zero_when_posterior_is_the_prior():
    vae = tiny_vae()
    with torch.no_grad():
        vae.encoder[-1].weight.zero_()
        vae.encoder[-1].bias.zero_()
    _, kl = vae.terms(torch.ones(3, 6))
    assert torch.allclose(kl, torch.zeros(3), atol=1e-7)


def test_importance_weighted_bound_with_one_sample_is_the_elbo_in_expectation():
    vae = tiny_vae()
    x = (torch.rand(4, 6) > 0.5).float()
    batch = genkit.Batch(x=x)
    draws = 4000
    torch.manual_seed(1)
    iw1 = torch.stack([vae.log_likelihood(batch, 1) for _ in range(draws)]).mean(0)
    torch.manual_seed(2)
    elbo = torch.stack([vae.elbo(batch) for _ in range(draws)]).mean(0)
    assert torch.allclose(iw1, elbo, atol=0.1)


def test_importance_weighted_bound_tightens_with_more_samples():
    vae = tiny_vae()
    x = (torch.rand(64, 6) > 0.5).float()
    batch = genkit.Batch(x=x)
    torch.manual_seed(3)
    k1, k10, k1000 = (vae.log_likelihood(batch, k).mean().item() for k in (1, 10, 1000))
    assert k1 < k10 < k1000
    # A 2-pixel-row toy has an exactly computable log p(x) only by quadrature; the bound must stay below
    # log of the most probable outcome (every x has probability < 1).
    assert k1000 < 0


def test_chunked_estimate_equals_unchunked():
    vae = tiny_vae()
    x = (torch.rand(8, 6) > 0.5).float()
    batch = genkit.Batch(x=x)
    torch.manual_seed(5)
    whole = vae.log_likelihood(batch, 100)
    vae.config.iw_chunk = 8 * 7  # 7 samples per pass: 15 passes
    torch.manual_seed(5)
    chunked = vae.log_likelihood(batch, 100)
    assert torch.allclose(whole, chunked, atol=1e-5)


def test_dynamic_binarization_has_the_pixel_intensity_as_probability():
    vae = BernoulliVAE(VAEConfig(), genkit.DataInfo("m", (1, 28, 28), 10))
    raw = torch.full((2000, 1, 28, 28), 51, dtype=torch.uint8)  # p = 51/255 = 0.2
    raw[:, :, :, :14] = 255  # always on
    raw[:, :, :2] = 0  # always off
    x = vae.prepare_batch(genkit.Batch(x=raw)).x.view(2000, 28, 28)
    assert x[:, :2].sum() == 0
    assert (x[:, 2:, :14] == 1).all()
    assert abs(x[:, 2:, 14:].mean().item() - 0.2) < 0.005
    # Fresh draws on every pass; the same draws under the same generator.
    again = vae.prepare_batch(genkit.Batch(x=raw)).x
    assert not torch.equal(again, x.view_as(again))
    g = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    a = vae.prepare_batch(genkit.Batch(x=raw), generator=g()).x
    b = vae.prepare_batch(genkit.Batch(x=raw), generator=g()).x
    assert torch.equal(a, b)
