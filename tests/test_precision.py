"""Mixed-precision selection and the speed options' configuration (no GPU needed)."""

from __future__ import annotations

import pytest
import torch

import genkit
from genkit.errors import ConfigError
from genkit.training.precision import Precision, resolve_precision

CPU, CUDA = torch.device("cpu"), torch.device("cuda", 0)


def test_cpu_runs_fp32_and_auto_means_fp32():
    for requested in ("fp32", "auto", " AUTO "):
        p = resolve_precision(requested, CPU)
        assert p.name == "fp32" and p.dtype is None and not p.needs_grad_scaler and p.grad_scaler() is None


def test_fp16_is_refused_off_cuda_and_bf16_off_cuda_and_cpu():
    with pytest.raises(
        ConfigError,
        match=r"train.precision: fp16 mixed precision needs a CUDA device \(training on cpu\); use fp32, auto or bf16",
    ):
        resolve_precision("fp16", CPU)
    for requested in ("bf16", "fp16"):
        with pytest.raises(ConfigError, match="training on mps"):
            resolve_precision(requested, torch.device("mps"))


def test_bf16_on_the_cpu_is_cpu_autocast_without_a_scaler():
    p = resolve_precision("bf16", CPU)
    assert p == Precision("bf16", "cpu", torch.bfloat16) and p.grad_scaler() is None
    with p.autocast():
        y = torch.ones(2, 2) @ torch.ones(2, 2)
    assert y.dtype == torch.bfloat16


def test_cuda_auto_prefers_bf16_and_falls_back_to_fp16_with_a_scaler():
    assert resolve_precision("auto", CUDA, bf16_supported=lambda: True) == Precision("bf16", "cuda", torch.bfloat16)
    fp16 = resolve_precision("auto", CUDA, bf16_supported=lambda: False)
    assert fp16 == Precision("fp16", "cuda", torch.float16) and fp16.needs_grad_scaler
    assert not resolve_precision("bf16", CUDA, bf16_supported=lambda: True).needs_grad_scaler
    assert resolve_precision("fp16", CUDA, bf16_supported=lambda: True).dtype == torch.float16
    with pytest.raises(ConfigError, match="no bf16 arithmetic"):
        resolve_precision("bf16", CUDA, bf16_supported=lambda: False)


def test_unknown_precision_is_a_config_error_naming_the_field():
    with pytest.raises(ConfigError, match="train.precision"):
        resolve_precision("fp8", CPU)
    with pytest.raises(ConfigError, match="train.precision"):
        genkit.train("vae", overrides={"train.precision": "fp8"})


def test_fp16_on_cpu_stops_before_a_run_directory_is_made(tiny, quiet, tmp_path):
    with pytest.raises(ConfigError, match="needs a CUDA device"):
        genkit.train(
            "vae",
            overrides={"train.dataset": tiny, "train.device": "cpu", "train.precision": "fp16"},
            out=tmp_path / "run",
            reporter=quiet,
        )
    assert not (tmp_path / "run").exists()


def test_cpu_autocast_is_a_no_op_context():
    with resolve_precision("auto", CPU).autocast():
        y = torch.ones(2, 2) @ torch.ones(2, 2)
    assert y.dtype == torch.float32


def test_config_fields_have_descriptions_and_safe_defaults():
    fields = genkit.TrainConfig.model_fields
    for name in ("precision", "compile", "tf32"):
        assert fields[name].description
    cfg = genkit.TrainConfig()
    assert (cfg.precision, cfg.compile) == ("fp32", False)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_the_mixed_precision_step_runs_and_saves_its_scaler(tiny, quiet, tmp_path, monkeypatch, dtype):
    """The autocast and gradient-scaler code path on the CPU: bf16 as a user asks for it,
    fp16 (which genkit never selects off CUDA) forced, since its scaler logic needs no GPU."""
    from genkit.checkpoint import load_checkpoint
    from genkit.training import trainer

    name = "bf16" if dtype == torch.bfloat16 else "fp16"
    if dtype == torch.float16:
        forced = Precision(name, "cpu", dtype)
        monkeypatch.setattr(trainer, "resolve_precision", lambda requested, device: forced)
    result = genkit.train(
        "vae",
        overrides={
            "train.dataset": tiny,
            "train.epochs": 1,
            "train.device": "cpu",
            "train.batch_size": 64,
            "train.precision": name if dtype == torch.bfloat16 else "fp32",
        },
        sets=["model.hidden=32"],
        out=tmp_path / name,
        reporter=quiet,
    )
    row = result.metrics[-1]
    assert all(torch.isfinite(torch.tensor(v)) for v in row["train"].values())
    scalers = load_checkpoint(result.run.last_checkpoint).meta["grad_scalers"]
    if dtype == torch.float16:
        assert set(scalers) == {"model"} and scalers["model"]["scale"] > 0
    else:
        assert scalers == {}
