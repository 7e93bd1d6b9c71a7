"""The validation terms of an epoch: the model's ``validation_terms`` over the held-out images."""

from __future__ import annotations

import torch

from ..data.datasets import Split
from ..model import Batch, GenerativeModel
from ..rng import isolated_rng
from .distributed import DistContext


@torch.no_grad()
def validation_terms(
    model: GenerativeModel, split: Split, seed: int, dist: DistContext, device: torch.device
) -> dict[str, float]:
    """Validation terms, in chunks of 1000 images dealt out to ranks in turn.

    Each chunk has its own seeded RNG, so the result is the same for any number of ranks.
    """
    n_val = split.val_x.shape[0]
    if n_val == 0:
        return {}
    model.eval()
    sums: dict[str, torch.Tensor] = {}
    n = 0
    for k, i in enumerate(range(0, n_val, 1000)):
        if k % dist.world_size != dist.rank:
            continue
        with isolated_rng(device, seed + k):
            generator = torch.Generator(device=device).manual_seed(seed + k)
            raw = Batch(
                x=split.val_x[i : i + 1000],
                y=None if split.val_y is None else split.val_y[i : i + 1000],
            )
            batch = model.prepare_batch(raw, generator=generator)
            for name, v in model.validation_terms(batch).items():
                sums[name] = sums.get(name, 0) + v.float() * len(batch)
            n += len(batch)
    model.train()
    names = dist.broadcast_object(list(sums))  # rank 0 always holds chunk 0
    packed = torch.stack(
        [torch.as_tensor(sums.get(name, 0.0), dtype=torch.float32, device=device) for name in names]
        + [torch.tensor(float(n), device=device)]
    )
    packed = dist.all_reduce_sum(packed)
    return {name: float(v) for name, v in zip(names, (packed[:-1] / packed[-1]).tolist())}
