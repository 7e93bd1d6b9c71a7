"""Training, resuming, sampling and scoring on a CUDA GPU.

Every test here is marked ``cuda`` and skips, with the reason, where there is no GPU;
``pytest -m cuda`` runs only these (benchmarks/gpu_check.py does, on a GPU machine).
What can be checked without a GPU is in test_device_paths.py.
"""

import math

import pytest
import torch

import genkit
from genkit.checkpoint import load_checkpoint
from genkit.rng import isolated_rng
from genkit.training.precision import resolve_precision

pytestmark = pytest.mark.cuda

SMALL = {"train.epochs": 1, "train.val_size": 64, "train.batch_size": 64, "train.grid_samples": 4, "model.hidden": 32}


def train_vae(tiny, quiet, out, device="cuda", **extra):
    overrides = {**SMALL, "train.dataset": tiny, "train.device": device, **extra}
    return genkit.train("vae", overrides=overrides, reporter=quiet, out=out)


def finite_row(result) -> bool:
    return all(math.isfinite(v) for v in result.metrics[-1]["train"].values())


def test_a_run_trains_on_the_gpu_and_its_checkpoint_loads_on_the_cpu(tiny, quiet, tmp_path):
    result = train_vae(tiny, quiet, tmp_path / "run")
    assert finite_row(result)
    assert {p.device.type for p in result.model.parameters()} == {"cuda"}
    assert "cuda" in result.run.read_json("manifest.json")["device"]
    on_cpu = genkit.load(result.run.path, device="cpu").model.state_dict()
    for name, value in result.model.state_dict().items():
        assert on_cpu[name].device.type == "cpu" and torch.equal(on_cpu[name], value.cpu()), name


def test_auto_precision_is_bf16_exactly_where_the_gpu_computes_in_it():
    major, _ = torch.cuda.get_device_capability(torch.device("cuda"))
    chosen = resolve_precision("auto", torch.device("cuda"))
    assert chosen.dtype == (torch.bfloat16 if major >= 8 else torch.float16)


def test_bf16_with_compile_trains_and_saves_the_plain_model_s_names(tiny, quiet, tmp_path):
    result = train_vae(tiny, quiet, tmp_path / "run", **{"train.precision": "bf16", "train.compile": True})
    assert finite_row(result)
    assert not any("_orig_mod" in k for k in load_checkpoint(result.run.last_checkpoint).tensors)


def test_fp16_trains_with_a_gradient_scaler_whose_state_is_saved(tiny, quiet, tmp_path):
    result = train_vae(tiny, quiet, tmp_path / "run", **{"train.precision": "fp16"})
    assert finite_row(result)
    assert load_checkpoint(result.run.last_checkpoint).meta["grad_scalers"]["model"]["scale"] > 0


def test_adam_is_fused_on_the_gpu_and_keeps_its_step_there():
    weight = torch.nn.Parameter(torch.ones(8, device="cuda"))
    opt = genkit.adam([weight], lr=0.1)
    assert opt.defaults["fused"] is True
    weight.square().sum().backward()
    opt.step()
    assert opt.state[weight]["step"].device.type == "cuda"


def test_tf32_is_on_inside_a_run_that_asks_for_it_and_restored_after(tiny, quiet, tmp_path):
    before = torch.backends.cuda.matmul.allow_tf32
    seen = []
    genkit.train(
        "vae",
        overrides={**SMALL, "train.dataset": tiny, "train.device": "cuda", "train.tf32": True},
        reporter=quiet,
        out=tmp_path / "run",
        on_step=lambda trainer: seen.append(torch.backends.cuda.matmul.allow_tf32),
    )
    assert seen and all(seen) and torch.backends.cuda.matmul.allow_tf32 == before


def test_a_run_resumes_on_the_other_device_both_ways(tiny, quiet, tmp_path):
    first = train_vae(tiny, quiet, tmp_path / "run", device="cpu")
    on_gpu = genkit.train(resume=first.run.path, overrides={"train.epochs": 2, "train.device": "cuda"}, reporter=quiet)
    assert len(on_gpu.metrics) == 2 and finite_row(on_gpu)
    assert {p.device.type for p in on_gpu.model.parameters()} == {"cuda"}
    back = genkit.train(resume=first.run.path, overrides={"train.epochs": 3, "train.device": "cpu"}, reporter=quiet)
    assert len(back.metrics) == 3 and finite_row(back)


def test_samples_drawn_on_the_gpu_repeat_with_the_seed(tiny, quiet, tmp_path):
    run = train_vae(tiny, quiet, tmp_path / "run").run.path
    a = genkit.sample(run, 8, seed=3, device="cuda", out=tmp_path / "a.png").images
    b = genkit.sample(run, 8, seed=3, device="cuda", out=tmp_path / "b.png").images
    c = genkit.sample(run, 8, seed=4, device="cuda", out=tmp_path / "c.png").images
    assert a.device.type == "cuda" and torch.equal(a, b) and not torch.equal(a, c)


def test_diffusion_s_ancestral_sampler_draws_its_noise_on_the_gpu(tiny, quiet, tmp_path):
    tiny_unet = {"model.channels": 8, "model.channel_mults": [1, 2], "model.timesteps": 50, "model.sample_steps": 3}
    overrides = {**SMALL, "train.dataset": tiny, "train.device": "cuda", **tiny_unet}
    del overrides["model.hidden"]
    run = genkit.train("diffusion", overrides=overrides, reporter=quiet, out=tmp_path / "run").run.path

    def draw(seed):
        out = tmp_path / f"{seed}.png"
        return genkit.sample(run, 4, seed=seed, steps=5, sampler="ancestral", device="cuda", out=out).images

    assert torch.equal(draw(1), draw(1)) and not torch.equal(draw(1), draw(2))


def test_scores_on_the_gpu_repeat_with_the_seed(tiny, quiet, tmp_path):
    run = train_vae(tiny, quiet, tmp_path / "run").run.path
    first = genkit.score(run, ["elbo", "nll"], samples=10, limit=64, device="cuda").metrics()
    again = genkit.score(run, ["elbo", "nll"], samples=10, limit=64, device="cuda").metrics()
    assert first == again and all(math.isfinite(v) for v in first.values())


def test_an_isolated_stream_repeats_and_leaves_the_gpu_generator_as_it_was():
    torch.cuda.manual_seed(1)
    before = torch.cuda.get_rng_state()
    with isolated_rng("cuda", 5):
        x = torch.randn(4, device="cuda")
    with isolated_rng("cuda", 5):
        y = torch.randn(4, device="cuda")
    assert torch.equal(x, y) and torch.equal(torch.cuda.get_rng_state(), before)


@pytest.mark.cuda(devices=2)
def test_training_on_the_second_gpu_allocates_nothing_on_the_first(tiny, quiet, tmp_path):
    before = torch.cuda.memory_allocated(0)
    result = train_vae(tiny, quiet, tmp_path / "run", device="cuda:1")
    assert {p.device for p in result.model.parameters()} == {torch.device("cuda", 1)}
    assert torch.cuda.memory_allocated(0) <= before
