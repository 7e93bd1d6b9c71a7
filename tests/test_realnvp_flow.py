"""The flow's algebra: invertibility, log-determinants, and the likelihood by hand."""

from __future__ import annotations

import math

import pytest
import torch
from genkit_realnvp.config import RealNVPConfig
from genkit_realnvp.flow import MultiScaleFlow
from genkit_realnvp.model import RealNVP
from genkit_realnvp.preprocess import logit_transform

import genkit


def randomised(flow: MultiScaleFlow, seed: int = 0) -> MultiScaleFlow:
    """Perturb every parameter (couplings start as the identity, actnorm at 0) so the
    checks see a flow that actually mixes its inputs."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in flow.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=gen))
    return flow.double()


@pytest.mark.parametrize("step", ["realnvp", "glow"])
def test_inverse_of_forward_reproduces_input(step):
    cfg = RealNVPConfig(step=step, hidden=16, res_blocks=1, checkerboard_couplings=2, channel_couplings=2, glow_steps=3)
    flow = randomised(MultiScaleFlow((1, 28, 28), cfg)).float()
    x, _ = logit_transform(torch.rand(8, 1, 28, 28), cfg.alpha)  # the range the flow sees
    z, logdet = flow(x)
    assert z.shape == x.shape and logdet.shape == (8,)
    assert (z - x).abs().max() > 0.1  # the flow is not the identity
    assert torch.allclose(flow.inverse(z), x, atol=1e-4)


@pytest.mark.parametrize("step", ["realnvp", "glow"])
def test_summed_logdet_equals_autograd_jacobian(step):
    cfg = RealNVPConfig(step=step, hidden=8, res_blocks=1, checkerboard_couplings=2, channel_couplings=2, glow_steps=2)
    flow = randomised(MultiScaleFlow((1, 4, 4), cfg), seed=1)
    x = torch.randn(1, 1, 4, 4, dtype=torch.float64)
    _, logdet = flow(x)
    jac = torch.autograd.functional.jacobian(lambda v: flow(v.view(1, 1, 4, 4))[0].flatten(), x.flatten())
    sign, logabs = torch.linalg.slogdet(jac)
    assert sign != 0
    assert torch.allclose(logdet[0], logabs, atol=1e-8)


def test_logit_logdet_equals_autograd_jacobian():
    y = torch.rand(6, dtype=torch.float64)
    _, logdet = logit_transform(y.view(1, 6), 0.05)
    jac = torch.autograd.functional.jacobian(lambda v: logit_transform(v.view(1, 6), 0.05)[0].flatten(), y)
    assert torch.allclose(logdet[0], torch.linalg.slogdet(jac)[1], atol=1e-10)


def test_untrained_bpd_matches_hand_computation():
    """One scale, one actnorm and one identity coupling on 2x2 images: z = (squeeze(v) + b) e^s."""
    alpha, b, s = 0.05, 0.3, math.log(0.5)
    cfg = RealNVPConfig(levels=1, checkerboard_couplings=1, channel_couplings=0, hidden=4, res_blocks=0, alpha=alpha)
    model = RealNVP(cfg, genkit.DataInfo("toy", (1, 2, 2)))
    norm = model.flow.actnorms()[0]
    with torch.no_grad():
        norm.bias.fill_(b)
        norm.log_scale.fill_(s)
    pixels = [[0, 17, 128, 255], [3, 3, 200, 90]]
    noise = [[0.5, 0.25, 0.125, 0.999], [0.0, 0.75, 0.5, 0.3]]
    y = torch.tensor([[(p + u) / 256 for p, u in zip(ps, us)] for ps, us in zip(pixels, noise)]).view(2, 1, 2, 2)

    expected = []
    for ys in y.view(2, 4).tolist():
        log_p = 0.0
        for yi in ys:
            q = alpha + (1 - 2 * alpha) * yi
            v = math.log(q / (1 - q))
            z = (v + b) * math.exp(s)
            log_p += -0.5 * z * z - 0.5 * math.log(2 * math.pi)  # prior
            log_p += s  # actnorm
            log_p += math.log(1 - 2 * alpha) - math.log(q) - math.log(1 - q)  # logit
            log_p -= math.log(256)  # [0, 1] to 256 levels
        expected.append(-log_p / (4 * math.log(2)))

    nll = -model.log_likelihood(genkit.Batch(x=y), samples=1)
    bpd = genkit.bits_per_dim(nll, model)
    assert torch.isfinite(bpd).all()
    assert torch.allclose(bpd, torch.tensor(expected), atol=1e-4)
    assert torch.allclose(model.bits_per_dim(genkit.Batch(x=y)).loss, bpd.mean(), atol=1e-6)


def test_dequantization_draws_are_averaged_and_repeat():
    model = RealNVP(
        RealNVPConfig(hidden=8, res_blocks=0, checkerboard_couplings=1, channel_couplings=1),
        genkit.DataInfo("mnist", (1, 28, 28)),
    )
    x = torch.randint(0, 256, (4, 1, 28, 28), dtype=torch.uint8)
    batch = model.prepare_batch(genkit.Batch(x=x), generator=torch.Generator().manual_seed(0))
    assert torch.equal(torch.floor(batch.x * 256), x.float())  # integer pixels recoverable exactly
    one, four, again = (model.log_likelihood(batch, k) for k in (1, 4, 4))
    assert torch.equal(four, again)
    assert not torch.equal(one, four)
    assert (one - four).abs().max() < 5.0  # the same images; only the noise differs


def test_decode_handles_temperature_and_encode_inverts_it():
    model = RealNVP(
        RealNVPConfig(hidden=8, res_blocks=1, checkerboard_couplings=1, channel_couplings=1),
        genkit.DataInfo("mnist", (1, 28, 28)),
    )
    randomised(model.flow).float()
    for t in (0.0, 0.7, 1.0, 3.0):
        images = model.decode(torch.randn(5, *model.latent_shape) * t)
        assert images.shape == (5, 1, 28, 28) and torch.isfinite(images).all()
        assert images.min() >= 0 and images.max() <= 1
    x = torch.rand(3, 1, 28, 28) * 0.9 + 0.05
    assert torch.allclose(model.decode(model.encode(genkit.Batch(x=x))), x, atol=1e-4)
