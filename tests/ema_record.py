"""The diffusion model's weights after every optimizer step, to check its EMA against them.

Shared by tests/test_diffusion_ema.py and the torchrun worker (tests/ddp_worker.py), which
saves each rank's record for tests/test_ddp.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch

import genkit

#: A small diffusion run on 12x12 images (tests/conftest.py's bars folder, about 50 training images
#: after the test and validation hold-outs), batches of 16: a few optimizer steps. Give it
#: "train.dataset".
RUN = {
    "train.epochs": 1,
    "train.val_size": 10,
    "train.grid_samples": 1,
    "train.batch_size": 16,
    "model.channels": 8,
    "model.channel_mults": [1, 2],
    "model.attention": False,
    "model.timesteps": 100,
    "model.sample_steps": 2,
    "model.ema_decay": 0.9,
}


def build_quick(config, data_info):
    """The diffusion model, its training-time grids drawn through ``decode`` (``model.sample_steps``
    DDIM steps) instead of its 50-step default sampler: the same training, in a fraction of the time."""
    from genkit_diffusion.model import build

    model = build(config, data_info)
    model.default_sampler = None
    return model


class _Hooks:
    @genkit.hookimpl
    def register_models(self, register):
        register(
            genkit.ModelSpec(
                name="diffusion-quick", config="genkit_diffusion.config:DiffusionConfig", build="ema_record:build_quick"
            )
        )


def register() -> str:
    """Registers ``diffusion-quick`` in this process; returns its name."""
    genkit.register_plugin(_Hooks(), "diffusion-quick")
    return "diffusion-quick"


def _copy(net: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in net.parameters()]


@contextmanager
def recorded_weights() -> Iterator[tuple[list[list[torch.Tensor]], object]]:
    """``(states, on_step)``: pass ``on_step`` to ``genkit.train``; ``states[0]`` is the weights
    the EMA starts from, ``states[k]`` the weights after optimizer step ``k``."""
    from genkit_diffusion import ema as ema_module

    states: list[list[torch.Tensor]] = []
    original = ema_module.EMA.reset

    def reset(self, net):
        states.append(_copy(net))
        original(self, net)

    def on_step(trainer):  # one update a step: one optimizer step
        states.append(_copy(trainer.model.net))

    ema_module.EMA.reset = reset
    try:
        yield states, on_step
    finally:
        ema_module.EMA.reset = original


def direct_ema(states: list[list[torch.Tensor]], decay: float) -> list[torch.Tensor]:
    """The average of ``states[1:]`` from ``states[0]``, written out: after step n+1 the
    average moves towards those weights by 1 - min(decay, (1 + n) / (10 + n))."""
    average = [t.clone() for t in states[0]]
    for n, weights in enumerate(states[1:]):
        moved = 1 - min(decay, (1 + n) / (10 + n))
        average = [torch.lerp(a, w, moved) for a, w in zip(average, weights)]
    return average


def record_ranks(out: str, dataset: str) -> None:
    """Under torchrun: train :data:`RUN` on ``dataset`` and save this rank's EMA and weight
    record to ``OUT/ema-rankR.safetensors``."""
    import torch.distributed as dist
    from safetensors.torch import save_file

    with recorded_weights() as (states, on_step):
        overrides = {**RUN, "train.dataset": dataset}
        result = genkit.train(register(), overrides=overrides, on_step=on_step, reporter=genkit.Reporter())
    tensors = {f"ema/{i}": p.detach() for i, p in enumerate(result.model.ema.net.parameters())}
    tensors.update({f"state{k}/{i}": t for k, state in enumerate(states) for i, t in enumerate(state)})
    tensors = {k: v.contiguous() for k, v in tensors.items()}
    save_file(tensors, str(Path(out) / f"ema-rank{dist.get_rank()}.safetensors"))


def read_rank(path: Path) -> tuple[list[torch.Tensor], list[list[torch.Tensor]]]:
    from safetensors.torch import load_file

    tensors = load_file(str(path))
    ema = [tensors[f"ema/{i}"] for i in range(sum(k.startswith("ema/") for k in tensors))]
    count = len({k.split("/")[0] for k in tensors if k.startswith("state")})
    states = [[tensors[f"state{k}/{i}"] for i in range(len(ema))] for k in range(count)]
    return ema, states
