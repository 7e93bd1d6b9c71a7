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
from ..model import Batch, GenerativeModel
from ..rng import isolated_rng
from ..sampling import CANNOT_SAMPLE, default_sampler_name

NO_GRIDS = f"no sample grids: {CANNOT_SAMPLE} (docs/plugins.md, Samplers)"


def grid_file(epochs_done: int, epochs: int) -> tuple[str | None, str]:
    """The run file (and its caption) for the grid after ``epochs_done`` of ``epochs``, if it gets one."""
    if epochs_done == epochs:
        return "samples_end.png", f"after {epochs} epochs"
    if epochs > 2 and epochs_done == epochs // 2:
        return f"samples_epoch{epochs_done}.png", f"after epoch {epochs_done} of {epochs}"
    return None, ""


def draw_grid(model: GenerativeModel, cfg: TrainConfig, split: Split, device, model_name: str) -> torch.Tensor | None:
    """``cfg.grid_samples`` images (a label-conditional model: every class in turn), or None for a
    model that cannot sample."""
    from ..drawing import drawing

    if default_sampler_name(model) is None:
        return None
    model.eval()
    try:
        with torch.no_grad(), isolated_rng(device, cfg.seed):
            gen = torch.Generator(device=device).manual_seed(cfg.seed)
            held_out = (split.val_x, split.val_y) if split.val_x.shape[0] else (split.train_x, split.train_y)
            n, condition = _grid_condition(model, cfg.grid_samples, *held_out, gen)
            return drawing(model, model_name=model_name)(n, condition=condition, generator=gen)
    finally:
        model.train()


def _grid_condition(
    model: GenerativeModel, n: int, images: torch.Tensor, labels: torch.Tensor | None, generator: torch.Generator
) -> tuple[int, torch.Tensor | None]:
    """How many samples a grid shows, and the condition of a model conditioned on something derived
    from the image (an observed part of it): the first ``n`` held-out images' conditions as its own
    ``prepare_batch`` builds them, so the core needs to know nothing about that kind. A
    label-conditional model gets none here: the drawing cycles through the classes."""
    if getattr(model, "conditioning", None) in (None, "label"):
        return n, None
    n = min(n, images.shape[0])
    raw = Batch(x=images[:n], y=None if labels is None else labels[:n])
    return n, model.prepare_batch(raw, generator=generator).condition
