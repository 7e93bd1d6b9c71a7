"""The sample grids training draws: which epochs write one to the run, and drawing it.

The run directory gets three: before training, halfway and at the end; loggers get one
every epoch. Grids are drawn through the model's default sampler (genkit.drawing), from
an isolated, seeded RNG stream, so they never disturb training's randomness and repeat
from run to run.
"""

from __future__ import annotations

import torch

from ..config import TrainConfig
from ..data import Split
from ..model import GenerativeModel
from ..rng import isolated_rng

NO_GRIDS = "no sample grids: this model has no latent space and names no default sampler (docs/plugins.md, Samplers)"


def grid_file(epochs_done: int, epochs: int) -> tuple[str | None, str]:
    """The run file (and its caption) for the grid after ``epochs_done`` of ``epochs``, if it gets one."""
    if epochs_done == epochs:
        return "samples_end.png", f"after {epochs} epochs"
    if epochs > 2 and epochs_done == epochs // 2:
        return f"samples_epoch{epochs_done}.png", f"after epoch {epochs_done} of {epochs}"
    return None, ""


def draw_grid(
    model: GenerativeModel, cfg: TrainConfig, split: Split, num_classes: int | None, device, model_name: str
) -> torch.Tensor | None:
    """``cfg.grid_samples`` images (a conditional model: labels cycled or taken from held-out
    images), or None for a model that cannot sample."""
    from ..drawing import draw
    from ..sampling import default_sampler_name, grid_condition

    if default_sampler_name(model) is None:
        return None
    model.eval()
    try:
        with torch.no_grad(), isolated_rng(device, cfg.seed):
            gen = torch.Generator(device=device).manual_seed(cfg.seed)
            held_out = (split.val_x, split.val_y) if split.val_x.shape[0] else (split.train_x, split.train_y)
            n, condition = grid_condition(model, cfg.grid_samples, *held_out, num_classes, gen)
            return draw(model, n, condition=condition, generator=gen, model_name=model_name)
    finally:
        model.train()
