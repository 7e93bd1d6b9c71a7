"""``genkit complete``: Doersch's completion figure for a column-conditional CVAE.

For each of a few test digits, one row: the observed (binarized) middle column,
several CVAE completions (z drawn from the prior), the regressor's prediction
and the ground truth.
"""

from __future__ import annotations

from pathlib import Path

import torch

import genkit
from genkit import Batch

from .conditions import column_picture

REGRESSOR = "regressor"


def completion_figure(
    target,
    *,
    regressor=None,
    source: str = "column",
    digits: int = 8,
    completions: int = 5,
    seed: int = 0,
    data_dir: str | None = None,
    out: str | Path | None = None,
    device: str = "auto",
) -> Path:
    """Draw the completion figure of a column-conditional CVAE run; returns the PNG path.

    Args:
        target: the CVAE run (directory, checkpoint or model name).
        regressor: the regressor run to compare with (default: the most recent ``regressor`` run).
        source: what the completion starts from; the model must be conditioned on it.
        digits: test digits, one per row (the first ones of the test split).
        completions: CVAE samples per digit.
        seed: seed of the column binarization and of the latent draws.
        out: PNG to write (default ``RUN/completion.png``).
    """
    if digits < 1 or completions < 1:
        raise genkit.GenkitError("--digits and --completions must be at least 1")
    cvae = target if isinstance(target, genkit.LoadedModel) else genkit.load(target, device)
    _require_source(cvae, source)
    reg = _load_regressor(regressor, cvae, source)
    data = genkit.load_dataset(cvae.meta["data"]["name"], data_dir or cvae.train_config.data_dir)
    raw = Batch(
        x=data.test_x[:digits].to(cvae.device), y=None if data.test_y is None else data.test_y[:digits].to(cvae.device)
    )

    with torch.no_grad():
        # Both models see the very same binarized columns.
        batch = cvae.model.prepare_batch(raw, generator=torch.Generator(device=cvae.device).manual_seed(seed))
        latents = torch.Generator(device=cvae.device).manual_seed(seed + 1)
        samples = [cvae.model.complete(batch, generator=latents) for _ in range(completions)]
        reg_batch = Batch(x=batch.x.to(reg.device), y=batch.y, condition=batch.condition.to(reg.device))
        regressed = reg.model.complete(reg_batch).to(cvae.device)
    shape = cvae.data_info.shape
    columns = [column_picture(batch.condition, shape), *samples, regressed, raw.x.float() / 255.0]
    titles = ["column", *[f"CVAE {i + 1}" for i in range(completions)], "regressor", "truth"]
    path = Path(out) if out else cvae.run.file("completion.png")
    return genkit.save_columns(
        columns,
        path,
        titles,
        f"{cvae.name} ({cvae.run.path.name}) vs {reg.name} ({reg.run.path.name}): completing digits from "
        "their middle column",
    )


def _require_source(lm: genkit.LoadedModel, source: str) -> None:
    kind = lm.model.conditioning
    if source != "column":
        raise genkit.GenkitError(f"--from {source}: only 'column' completion is supported")
    if kind != source:
        raise genkit.GenkitError(
            f"'{lm.name}' is conditioned on {kind or 'nothing'}, not on the {source}; train it with "
            f'model.condition = "{source}"'
        )
    if lm.name == REGRESSOR:
        raise genkit.GenkitError("give the CVAE run first; the regressor goes to --regressor")


def _load_regressor(regressor, cvae: genkit.LoadedModel, source: str) -> genkit.LoadedModel:
    try:
        reg = genkit.load(regressor or REGRESSOR, str(cvae.device))
    except genkit.GenkitError as exc:
        if regressor is not None:
            raise
        raise genkit.GenkitError(
            f"no regressor to compare with ({exc}); train one with `genkit train regressor` on the same "
            "dataset, or pass --regressor RUN"
        ) from None
    if reg.model.conditioning != source or not isinstance(reg.model, genkit.CompletionModel):
        raise genkit.GenkitError(f"--regressor {regressor}: '{reg.name}' does not complete images from the {source}")
    if reg.meta["data"]["name"] != cvae.meta["data"]["name"]:
        raise genkit.GenkitError(
            f"the regressor was trained on {reg.meta['data']['name']}, the CVAE on {cvae.meta['data']['name']}"
        )
    return reg
