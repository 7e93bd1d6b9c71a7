"""What genkit picks for a CUDA device, checked on a machine without one: the autocast dtype,
the GPU it asks, the device index, each rank's GPU and backend, fused Adam. (What needs a
real GPU is in test_cuda.py, marked ``cuda``.)"""

import pytest
import torch
import torch.distributed as dist

import genkit
from genkit.device import resolve_device
from genkit.errors import ConfigError, DeviceError
from genkit.training import distributed
from genkit.training.precision import Precision, resolve_precision

SECOND_GPU = torch.device("cuda", 1)


@pytest.fixture
def gpus(monkeypatch):
    """Pretend two GPUs: ``gpus(capability)`` sets what each reports and returns the devices asked about."""
    asked = []

    def pretend(capability=(9, 0)):
        monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
        monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)  # emulation counts here

        def get_device_capability(device=None):
            asked.append(device)
            return capability

        monkeypatch.setattr(torch.cuda, "get_device_capability", get_device_capability)
        return asked

    return pretend


def test_auto_is_bf16_on_a_gpu_that_computes_in_bf16_asking_the_training_gpu(gpus):
    asked = gpus((8, 0))
    assert resolve_precision("auto", SECOND_GPU) == Precision("bf16", "cuda", torch.bfloat16)
    assert asked == [SECOND_GPU]  # not the current device


def test_auto_is_fp16_where_bf16_would_only_be_emulated(gpus):
    gpus((7, 5))  # Turing: torch.cuda.is_bf16_supported() says yes, through emulation
    chosen = resolve_precision("auto", SECOND_GPU)
    assert chosen.dtype == torch.float16 and chosen.needs_grad_scaler


def test_bf16_asked_for_on_a_gpu_that_would_emulate_it_is_one_line(gpus):
    gpus((7, 0))
    with pytest.raises(ConfigError, match=r"train\.precision: cuda:1 has no bf16 arithmetic.*use fp16") as info:
        resolve_precision("bf16", SECOND_GPU)
    assert "\n" not in str(info.value)


def test_a_cuda_index_is_checked_against_the_gpus_present(gpus):
    gpus()
    assert resolve_device("cuda:1") == SECOND_GPU
    with pytest.raises(DeviceError, match="'cuda:2' requested but only 2 CUDA device"):
        resolve_device("cuda:2")


def test_each_rank_under_torchrun_drives_its_local_gpu_over_nccl(gpus, monkeypatch):
    gpus()
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("LOCAL_RANK", "1")
    current, joined = [], []
    monkeypatch.setattr(torch.cuda, "set_device", current.append)
    monkeypatch.setattr(dist, "is_initialized", lambda: bool(joined))
    monkeypatch.setattr(dist, "init_process_group", lambda backend, **kw: joined.append(backend))
    monkeypatch.setattr(dist, "get_backend", lambda: joined[-1])
    ctx, device = distributed.setup("auto", resolve_device)
    assert device == SECOND_GPU and current == [SECOND_GPU] and joined == ["nccl"]
    assert (ctx.rank, ctx.world_size, ctx.backend) == (1, 2, "nccl")


def test_adam_is_fused_for_parameter_groups_and_keeps_each_group_s_rate():
    net = torch.nn.Linear(3, 2)
    opt = genkit.adam([{"params": [net.weight]}, {"params": [net.bias], "lr": 0.5}], lr=0.01)
    assert opt.defaults["fused"] is True
    assert [g["lr"] for g in opt.param_groups] == [0.01, 0.5]
    net(torch.randn(4, 3)).sum().backward()
    opt.step()  # the fused kernel accepts the groups


def test_the_learned_gamma_vae_steps_with_fused_adam():
    from genkit_gammavae.model import GammaVAE, GammaVAEConfig

    model = GammaVAE(GammaVAEConfig(width=4, kappa=16, latent_dim=8), genkit.DataInfo("tiny", (1, 28, 28), 10))
    opt = model.configure_optimizers(1e-3)["model"]
    assert opt.defaults["fused"] is True
    gamma_group = next(g for g in opt.param_groups if any(p is model.log_gamma for p in g["params"]))
    assert gamma_group["lr"] == pytest.approx(1e-3 * model.config.gamma_lr_scale)
