"""Seeded, isolated random streams: a block of work that draws from torch's global
RNG (latent noise, importance samples) gets its own stream seeded from a fixed
seed, and the caller's stream is left as it was.

Training uses it for validation and sample grids (so they never change the
training path); scoring uses it around every evaluator (so the same command gives
the same figures, in one process or two).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


@contextmanager
def isolated_rng(device: torch.device | str, seed: int) -> Iterator[None]:
    """Run a block with the CPU generator and ``device``'s generator seeded by ``seed``,
    restoring both afterwards.

    Only CPU and CUDA devices are supported (genkit refuses others before any work).
    """
    device = torch.device(device)
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.random.default_generator.manual_seed(seed)
        if devices:  # only the forked device's generator, so nothing is left changed
            with torch.cuda.device(device):
                torch.cuda.manual_seed(seed)
        yield
