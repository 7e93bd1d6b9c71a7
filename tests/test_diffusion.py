"""The diffusion plugin: training steps, samplers, guidance, EMA, the bound and its one-line errors."""

from __future__ import annotations

import math

import pytest
import torch
from genkit_diffusion.config import DiffusionConfig
from genkit_diffusion.model import build
from genkit_diffusion.samplers import AncestralSampler, DDIMSampler, DPMSolverPP2MSampler, EulerSampler, HeunSampler

import genkit

TINY = {"channels": 8, "channel_mults": (1, 2), "attention": True, "timesteps": 100, "sample_steps": 5}
FAST = {
    "train.val_size": 64,
    "train.grid_samples": 4,
    "train.batch_size": 32,
    **{f"model.{k}": list(v) if isinstance(v, tuple) else v for k, v in TINY.items()},
}


def tiny_model(objective="ddpm", shape=(1, 8, 8), classes=None, **extra):
    config = DiffusionConfig(objective=objective, **{**TINY, **extra})
    return build(config, genkit.DataInfo("toy", shape, classes))


def toy_images(n=32, seed=0) -> torch.Tensor:
    """Bright squares at random places on a dark 8x8 canvas, raw uint8."""
    g = torch.Generator().manual_seed(seed)
    x = torch.zeros(n, 1, 8, 8, dtype=torch.uint8)
    for i, (r, c) in enumerate(torch.randint(0, 5, (n, 2), generator=g).tolist()):
        x[i, :, r : r + 3, c : c + 3] = 255
    return x


def fixed_loss(model, batch, seed=0) -> float:
    torch.manual_seed(seed)  # the same t and noise draws before and after the step
    return model.loss(batch).loss.item()


@pytest.mark.parametrize("objective", ["ddpm", "flow-matching"])
def test_one_training_step_lowers_the_loss_on_a_fixed_batch(objective):
    model = tiny_model(objective)
    batch = model.prepare_batch(genkit.Batch(x=toy_images()))
    optimizer = model.configure_optimizers(2e-3)["model"]
    model.eval()  # measuring: no EMA update
    before = fixed_loss(model, batch)
    model.train()
    optimizer.zero_grad()
    torch.manual_seed(1)
    model.loss(batch).loss.backward()
    optimizer.step()
    model.eval()
    assert fixed_loss(model, batch) < before


def test_min_snr_weights_steps_by_min_one_gamma_over_snr_and_gamma_zero_is_the_plain_loss():
    assert tiny_model().config.min_snr_gamma == 5.0  # the DDPM default
    assert tiny_model("flow-matching").config.min_snr_gamma == 0.0
    plain, weighted = tiny_model(min_snr_gamma=0.0), tiny_model(min_snr_gamma=2.0)
    weighted.load_state_dict(plain.state_dict())
    abar = torch.cumprod(1 - plain.schedule.betas.double(), 0)
    snr = abar / (1 - abar)
    assert plain.loss_weights is None
    assert torch.allclose(weighted.loss_weights.double(), torch.minimum(torch.ones_like(snr), 2.0 / snr), rtol=1e-5)
    assert weighted.loss_weights[0] < 0.01 and weighted.loss_weights[-1] == 1.0  # low noise counts less

    batch = plain.prepare_batch(genkit.Batch(x=toy_images()))
    plain.eval(), weighted.eval()

    def draws(seed=0):  # the t and noise that training_loss draws after torch.manual_seed(seed)
        torch.manual_seed(seed)
        t = torch.randint(0, 100, (batch.x.shape[0],))
        return t, torch.randn_like(batch.x)

    t, noise = draws()
    with torch.no_grad():
        eps = plain.net(plain.schedule.q_sample(batch.x, t, noise), plain.net_time(t), None)
        per_image = (eps - noise).square().flatten(1).mean(1)
        assert fixed_loss(plain, batch) == pytest.approx(per_image.mean().item(), rel=1e-5)
        expected = (weighted.loss_weights[t] * per_image).mean().item()
        assert fixed_loss(weighted, batch) == pytest.approx(expected, rel=1e-5)
        assert expected < per_image.mean().item()


def test_ema_follows_the_weights_and_is_kept_out_of_the_optimizer():
    model = tiny_model(ema_decay=0.5)
    optimizer = model.configure_optimizers(1e-2)["model"]
    ids = {id(p) for group in optimizer.param_groups for p in group["params"]}
    assert ids == {id(p) for p in model.net.parameters()}
    batch = model.prepare_batch(genkit.Batch(x=toy_images()))
    model.train()
    for step in range(1, 4):
        optimizer.zero_grad()
        model.loss(batch).loss.backward()
        optimizer.step()
        model.after_step(step, model.updates()[0])  # what genkit calls after each optimizer step
    live, averaged = model.net.out.weight, model.ema.net.out.weight
    assert not torch.equal(live, averaged) and averaged.abs().sum() > 0  # moved, but lags the live weights
    assert int(model.ema.updates) == 3
    assert all(k.startswith(("net.", "ema.")) for k in model.state_dict())  # the EMA copy is checkpointed


def _perturbed(model):
    """A model whose output is not the zero of a fresh zero-initialised output layer."""
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.1 * torch.randn(p.shape, generator=g))
    return model.eval()


@pytest.mark.parametrize("sampler", [DDIMSampler, DPMSolverPP2MSampler])
def test_the_ode_samplers_are_deterministic_given_the_seed(sampler):
    model = _perturbed(tiny_model())

    def draw(seed):
        return sampler().sample(model, 4, generator=torch.Generator().manual_seed(seed), steps=10)

    with torch.no_grad():
        a, b, c = draw(0), draw(0), draw(1)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.shape == (4, 1, 8, 8) and a.min() >= 0 and a.max() <= 1


def test_ddim_is_the_map_decode_applies_to_the_noise_image():
    model = _perturbed(tiny_model())
    with torch.no_grad():
        a = DDIMSampler().sample(model, 4, generator=torch.Generator().manual_seed(0), steps=10)
        z = torch.randn((4, 1, 8, 8), generator=torch.Generator().manual_seed(0))
        decoded = model.deterministic_sample(z, None, 10, None)
    assert torch.allclose(a, decoded)


def test_ancestral_sampling_repeats_with_the_seed_and_uses_fresh_noise():
    model = _perturbed(tiny_model())

    def draw(seed, steps=None):
        return AncestralSampler().sample(model, 3, generator=torch.Generator().manual_seed(seed), steps=steps)

    with torch.no_grad():
        assert torch.equal(draw(5), draw(5))
        ddim = DDIMSampler().sample(model, 3, generator=torch.Generator().manual_seed(5), steps=100)
        assert not torch.allclose(draw(5), ddim)  # same start, but noise added along the way


def test_progress_is_reported_per_step():
    model = _perturbed(tiny_model("flow-matching"))
    seen = []
    with torch.no_grad():
        HeunSampler().sample(
            model, 2, generator=torch.Generator().manual_seed(0), steps=4, progress=lambda d, t: seen.append((d, t))
        )
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]


def test_flow_matching_euler_with_many_steps_and_heun_with_few_agree():
    torch.manual_seed(0)
    model = tiny_model("flow-matching", ema=False)
    batch = model.prepare_batch(genkit.Batch(x=toy_images(64)))
    optimizer = model.configure_optimizers(3e-3)["model"]
    model.train()
    for _ in range(60):
        optimizer.zero_grad()
        model.loss(batch).loss.backward()
        optimizer.step()
    model.eval()

    def draw(sampler, steps):
        with torch.no_grad():
            return sampler.sample(model, 16, generator=torch.Generator().manual_seed(7), steps=steps)

    reference = draw(EulerSampler(), 200)
    heun = (draw(HeunSampler(), 8) - reference).abs().mean()
    coarse = (draw(EulerSampler(), 4) - reference).abs().mean()
    assert heun < 0.02 and heun < coarse / 3


def test_guidance_zero_is_the_unconditional_prediction_and_one_the_conditional():
    model = _perturbed(tiny_model(classes=3, conditional=True))
    x = torch.randn(4, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    t = torch.tensor([10, 40, 70, 99])
    labels = torch.tensor([0, 1, 2, 0])
    with torch.no_grad():
        unconditional = model.eps(x, t, None)
        conditional = model.eps(x, t, labels, 1.0)
        assert not torch.allclose(unconditional, conditional)
        assert torch.allclose(model.eps(x, t, labels, 0.0), unconditional, atol=1e-6)
        assert torch.allclose(
            model.eps(x, t, labels, 3.0), unconditional + 3 * (conditional - unconditional), atol=1e-5
        )


def test_label_dropout_trains_the_null_label():
    model = _perturbed(tiny_model(classes=3, conditional=True, label_dropout=1.0))
    batch = model.prepare_batch(genkit.Batch(x=toy_images(8), y=torch.zeros(8, dtype=torch.long)))
    model.train()
    model.loss(batch).loss.backward()
    grad = model.net.labels.weight.grad
    assert grad[3].abs().sum() > 0 and grad[:3].abs().sum() == 0


@pytest.mark.parametrize(
    "model_kwargs, sampler, options, message",
    [
        ({}, "euler", {}, "the euler sampler is for objective flow-matching; this model is ddpm (use --sampler ddim)"),
        (
            {"objective": "flow-matching"},
            "ancestral",
            {},
            "is for objective ddpm; this model is flow-matching (use --sampler euler)",
        ),
        ({}, "ddim", {"steps": 101}, "--steps 101 is more than the model's 100 diffusion steps"),
    ],
)
def test_the_samplers_own_refusals_are_one_clear_line(model_kwargs, sampler, options, message):
    """What only a diffusion sampler knows; genkit's drawing path checks the rest (test_drawing.py)."""
    from genkit.drawing import drawing

    model = tiny_model(**model_kwargs).eval()
    with pytest.raises(genkit.GenkitError) as info:
        drawing(model, sampler=sampler, options=options)(2, generator=torch.Generator().manual_seed(0))
    assert message in str(info.value) and "\n" not in str(info.value)


def test_samplers_refuse_other_model_families():
    assert "needs a diffusion model" in DDIMSampler().unsupported_reason(torch.nn.Linear(2, 2))
    assert DDIMSampler().unsupported_reason(tiny_model()) is None
    assert EulerSampler().unsupported_reason(tiny_model("flow-matching")) is None


def test_the_variational_bound_is_finite_and_improves_with_training():
    torch.manual_seed(0)
    model = tiny_model(ema=False, bound_timesteps=20)
    batch = model.prepare_batch(genkit.Batch(x=toy_images(32)))
    model.eval()
    with torch.no_grad():
        before = -model.elbo(batch)
        again = -model.elbo(batch)
    assert torch.equal(before, again) and torch.isfinite(before).all()  # seeded: a score repeats
    optimizer = model.configure_optimizers(3e-3)["model"]
    model.train()
    for _ in range(40):
        optimizer.zero_grad()
        model.loss(batch).loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        after = -model.elbo(batch)
    assert after.mean() < before.mean()
    assert isinstance(model, genkit.BoundModel) and not isinstance(tiny_model("flow-matching"), genkit.BoundModel)


def test_the_elbo_metric_gives_the_bound_in_bits_per_dimension_of_the_8_bit_image():
    from genkit.evaluation import NegativeELBO

    model = tiny_model(ema=False, bound_timesteps=5).eval()
    ctx = genkit.EvalContext(model=model, x=toy_images(8), y=None, dataset="toy", batch_size=8)
    metrics = NegativeELBO().evaluate(ctx).metrics
    dims = model.data_info.dims
    assert metrics["neg_elbo_bpd"] == pytest.approx(metrics["neg_elbo_nats"] / (dims * math.log(2)), rel=1e-5)


def test_trains_samples_interpolates_and_reloads_through_genkit(tiny, quiet):
    result = genkit.train(
        "diffusion", overrides={"train.dataset": "tiny:128", "train.epochs": 2, **FAST}, reporter=quiet
    )
    run = result.run
    for name in ("curves.png", "samples_start.png", "samples_end.png"):
        assert run.file(name).is_file(), name
    lm = genkit.load(run.path)
    assert isinstance(lm.model, genkit.LatentModel) and lm.model.latent_shape == (1, 28, 28)
    assert lm.model.default_sampler == "ddim"
    state = lm.model.state_dict()
    assert int(state["ema.updates"]) == 8  # 2 epochs of 4 steps, each folded into the average after it
    picture = genkit.interpolate(run.path, steps=3)
    assert picture.images.shape[-3:] == (1, 28, 28)


def _one_line(err: str, code: int) -> str:
    """The error of a failed command: one ``error:`` line (exit 1), or for a usage error
    (exit 2, such as ``--steps 0``) the usage line and one ``Error:`` line."""
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert "Traceback" not in err and lines, err
    if code == 2:
        assert lines[0].startswith("Usage:") and sum(line.startswith("Error:") for line in lines) == 1, err
        return next(line for line in lines if line.startswith("Error:"))
    assert code == 1 and lines[0].startswith("error:"), err
    return " ".join(lines)  # rich may wrap a long line in a narrow terminal


def test_genkit_sample_takes_sampler_steps_and_guidance_and_refuses_bad_ones(tiny, quiet, cli):
    plain = genkit.train(
        "diffusion", overrides={"train.dataset": "tiny:64", "train.epochs": 1, **FAST}, reporter=quiet
    ).run.path
    for sampler in ("ancestral", "dpm-solver++"):
        code, out, err = cli("sample", plain, "-n", 4, "--sampler", sampler, "--steps", 5)
        assert code == 0 and "wrote" in out, (sampler, err)
    bad = [
        (("--sampler", "euler"), "euler"),
        (("--steps", 0), "Invalid value for '--steps'"),
        (("--steps", 500), "more than the model's 100 diffusion steps"),
        (("--guidance", 3.0), "--guidance applies only to a conditional model"),
    ]
    for options, expected in bad:
        code, _, err = cli("sample", plain, "-n", 2, *options)
        assert expected in _one_line(err, code), (options, err)

    conditional = genkit.train(
        "diffusion",
        overrides={"train.dataset": "tiny:64", "train.epochs": 1, "model.conditional": True, **FAST},
        reporter=quiet,
    ).run.path
    code, out, err = cli(
        "sample", conditional, "-n", 3, "--label", 7, "--guidance", 2.0, "--steps", 3, "--sampler", "dpm-solver++"
    )
    assert code == 0, err
    pictures = genkit.sample(conditional, 20, steps=2, guidance=0.0)  # no --label: every class in turn
    assert pictures.images.shape == (20, 1, 28, 28)


def test_min_snr_on_flow_matching_is_one_line_naming_the_field(cli):
    code, _, err = cli("train", "diffusion", "--set", "model.objective=flow-matching", "--set", "model.min_snr_gamma=5")
    line = _one_line(err, code)
    assert "min_snr_gamma" in line and "applies only to objective ddpm" in line, err


class _GaussianData:
    """A DDPM 'model' of data N(mean, std^2) per pixel, whose noise prediction E[eps | x_t] is exact:
    sigma_t (x_t - alpha_t mean) / (alpha_t^2 std^2 + sigma_t^2). Its probability-flow ODE moves
    x / alpha - mean in proportion to sqrt(std^2 + sigma^2 / alpha^2), so each solution is known."""

    mean, std = 0.0, 0.5

    def __init__(self, schedule: str):
        from genkit_diffusion.schedule import NoiseSchedule

        self.schedule = NoiseSchedule(schedule, 1000)

    def eps(self, x, t, condition=None, guidance=None):
        ab = self.schedule.alpha_bar[t].double().view(-1, 1)
        return (1 - ab).sqrt() * (x - ab.sqrt() * self.mean) / (ab * self.std**2 + 1 - ab)

    def exact(self, z, steps):
        """The ODE's solution from z at the first step down to the last of ``steps``, then the same
        final data prediction every sampler ends with."""
        times = self.schedule.respaced(steps)
        start, end = (self.schedule.alpha_bar[i].double() for i in (times[-1], times[0]))
        spread = ((self.std**2 + (1 - end) / end) / (self.std**2 + (1 - start) / start)).sqrt()
        x = end.sqrt() * (self.mean + (z / start.sqrt() - self.mean) * spread)
        return (x - (1 - end).sqrt() * self.eps(x, torch.full((len(z),), times[0]))) / end.sqrt()


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
@pytest.mark.parametrize("solver, order", [("ddim", 1), ("dpm_solver_pp_2m", 2)])
def test_the_ode_solvers_converge_at_their_order_on_gaussian_data(schedule, solver, order):
    from genkit_diffusion import solvers

    model = _GaussianData(schedule)
    # |z| < 1.9 keeps every data prediction inside the [-1, 1] clip, so the solvers see the plain ODE.
    z = torch.randn(64, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64).clamp(-1.9, 1.9)
    steps = [40, 80, 160, 320]
    errors = [(getattr(solvers, solver)(model, z, None, n, None) - model.exact(z, n)).abs().max().item() for n in steps]
    x, y = torch.tensor(steps).double().log(), torch.tensor(errors).log()
    slope = ((x - x.mean()) * (y - y.mean())).sum() / ((x - x.mean()) ** 2).sum()
    assert -slope == pytest.approx(order, abs=0.25), errors
