"""The learned-gamma convolutional VAE: likelihood terms, the learned variance, bits per dimension."""

import json
import math

import pytest
import torch
from genkit_gammavae.model import GammaVAE, GammaVAEConfig, gaussian_log_density

import genkit

SMALL = {"model.width": 4, "model.kappa": 16, "model.latent_dim": 8, "model.likelihood_samples": 4}


def small_model(**kw) -> GammaVAE:
    cfg = GammaVAEConfig(width=4, kappa=16, latent_dim=8, **kw)
    return GammaVAE(cfg, genkit.DataInfo("tiny", (1, 28, 28), 10))


def test_gaussian_log_density_matches_torch_distributions():
    torch.manual_seed(1)
    x, mean = torch.rand(3, 5, 7), torch.rand(3, 5, 7)
    log_gamma = torch.tensor(-1.3)
    expected = torch.distributions.Normal(mean, log_gamma.exp().sqrt()).log_prob(x).sum(-1)
    torch.testing.assert_close(gaussian_log_density(x, mean, log_gamma), expected)
    mvn = torch.distributions.MultivariateNormal(mean[0], covariance_matrix=log_gamma.exp() * torch.eye(7))
    torch.testing.assert_close(gaussian_log_density(x[0], mean[0], log_gamma), mvn.log_prob(x[0]))


def test_prepare_batch_dequantizes_and_pads():
    model = small_model()
    raw = torch.randint(0, 256, (6, 1, 28, 28), dtype=torch.uint8)
    y = model.prepare_batch(genkit.Batch(x=raw), generator=torch.Generator().manual_seed(0)).x
    assert y.shape == (6, 1, 32, 32)
    inner = model.crop(y)
    assert torch.all((inner * 256 >= raw.float()) & (inner * 256 < raw.float() + 1))
    assert y[..., :2, :].abs().sum() == 0 and y[..., :, -2:].abs().sum() == 0
    assert model.decode(torch.zeros(2, 8)).shape == (2, 1, 28, 28)


def test_gamma_receives_a_gradient_and_moves_towards_the_error():
    torch.manual_seed(0)
    model = small_model(init_log_gamma=0.0)
    opt = model.configure_optimizers(1e-3)["model"]
    batch = model.prepare_batch(genkit.Batch(x=torch.randint(0, 256, (8, 1, 28, 28), dtype=torch.uint8)))
    result = model.negative_elbo(batch)
    result.loss.backward()
    assert model.log_gamma.grad is not None and model.log_gamma.grad.abs() > 0
    # gamma = 1 is far above the squared error of pixels in [0, 1]: it must fall
    start = model.log_gamma.item()
    for _ in range(10):
        opt.zero_grad()
        model.negative_elbo(batch).loss.backward()
        opt.step()
    assert model.log_gamma.item() < start - 0.05
    assert result.terms["gamma"].item() == pytest.approx(1.0)


@torch.no_grad()
def test_importance_weighting_tightens_the_bound():
    torch.manual_seed(0)
    model = small_model().eval()
    batch = model.prepare_batch(genkit.Batch(x=torch.randint(0, 256, (4, 1, 28, 28), dtype=torch.uint8)))
    elbo = torch.stack([model.elbo(batch) for _ in range(10)]).mean(0)
    iw = model.log_likelihood(batch, 32)
    assert torch.isfinite(iw).all()
    assert (iw >= elbo - 1.0).all()  # log (1/K) sum w >= E log w, up to Monte-Carlo noise
    # the change of scale is counted: a continuous log-density minus D log 256
    assert model.discretization == pytest.approx(784 * math.log(256))


def test_bpd_is_finite_and_falls_with_training(tiny, quiet):
    overrides = {
        "train.dataset": f"{tiny}:160",
        "train.epochs": 1,
        "train.val_size": 16,
        "train.batch_size": 24,
        "train.lr": 3e-3,
        "train.grid_samples": 4,
    }
    first = genkit.train("gammavae", overrides=overrides, sets=[f"{k}={v}" for k, v in SMALL.items()], reporter=quiet)
    before = genkit.score(first.run.path, ["bpd"], dataset=tiny, limit=32, samples=4).metrics()["bpd"]
    genkit.train(resume=first.run.path, overrides={"train.epochs": 3}, reporter=quiet)
    after = genkit.score(first.run.path, ["bpd"], dataset=tiny, limit=32, samples=4).metrics()["bpd"]
    assert math.isfinite(before) and math.isfinite(after)
    assert after < before
    assert 0 < after < 16  # a sane 8-bit figure, the D log 256 scale term included


def test_the_bound_genkit_score_reports_is_the_documented_formula(tiny, quiet, cli):
    """`genkit score -m elbo -m bpd` on four test images against the formulas of docs/results.md
    ("What the bits per dimension count"), computed here from the trained networks alone.

    Both figures are Monte-Carlo estimates (one dequantization draw u per image; one z for the
    ELBO, K for the importance-weighted bound). The expectation over many independent draws
    must lie within four standard deviations of a single draw's mean over the four images.
    """
    run = genkit.train(
        "gammavae",
        overrides={
            "train.dataset": f"{tiny}:64",
            "train.epochs": 1,
            "train.val_size": 8,
            "train.batch_size": 28,
            "train.grid_samples": 4,
        },
        sets=[f"{k}={v}" for k, v in SMALL.items()] + ["model.init_log_gamma=-2.5"],
        reporter=quiet,
    ).run.path
    k, n = 8, 4
    result = cli("score", run, "-m", "elbo", "-m", "bpd", "--samples", k, "--limit", n, "--json")
    assert result.code == 0, result.err
    reported = json.loads(result.out)["metrics"]

    model = genkit.load(run).model
    encoder, decoder, log_gamma = model.encoder, model.decoder, model.log_gamma.detach()
    gamma = log_gamma.exp()  # a variance: N(y; mu_x(z), gamma I)
    assert gamma.item() != pytest.approx(1.0, abs=0.05)  # so a standard deviation would not pass for it
    x = genkit.load_dataset(tiny).test_x[:n].float()
    d = 784

    def log_normal(v, mean, var):  # summed over the last dimension
        return (-0.5 * (v - mean) ** 2 / var - 0.5 * torch.log(2 * math.pi * var)).sum(-1)

    def log_p_y_given(z, y):  # z [..., n, latent], y [n, d] -> [..., n]; the padding is not counted
        mean = decoder(z.reshape(-1, z.shape[-1]))[..., 2:30, 2:30].reshape(*z.shape[:-1], d)
        return log_normal(y, mean, gamma.expand(d))

    g = torch.Generator().manual_seed(123)
    neg_elbo, neg_iw = [], []
    with torch.no_grad():
        for _ in range(20):
            y = (x + torch.rand(x.shape, generator=g)) / 256  # y = (x + u) / 256, u ~ U[0, 1)
            mu, logvar = encoder(torch.nn.functional.pad(y, (2, 2, 2, 2)))  # centred in 32x32 zeros
            std = (0.5 * logvar).exp()
            target = y.flatten(1)

            z = mu + std * torch.randn(mu.shape, generator=g)
            kl = 0.5 * (mu**2 + logvar.exp() - 1 - logvar).sum(-1)
            neg_elbo.append(-(log_p_y_given(z, target) - kl - d * math.log(256)))
            zs = mu + std * torch.randn((k, *mu.shape), generator=g)
            log_w = log_p_y_given(zs, target) + log_normal(zs, 0.0, torch.ones(())) - log_normal(zs, mu, std**2)
            neg_iw.append(-(torch.logsumexp(log_w, 0) - math.log(k) - d * math.log(256)))
    for name, draws in (("neg_elbo_bpd", neg_elbo), ("bpd", neg_iw)):
        bpd = torch.stack(draws).mean(1) / (d * math.log(2))  # each draw's mean over the n images
        print(name, reported[name], bpd.mean().item(), bpd.std().item())
        assert reported[name] == pytest.approx(bpd.mean().item(), abs=4 * bpd.std().item() + 1e-4), name
    assert reported["neg_elbo_nats"] == pytest.approx(reported["neg_elbo_bpd"] * d * math.log(2), rel=1e-5)
