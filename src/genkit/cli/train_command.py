"""`genkit train`: one run, or N processes of one under torchrun."""

from __future__ import annotations

import json
import os
from pathlib import Path

import typer

from . import shared
from .shared import DEVICE_HELP, command, out


@command()
def train(
    model: str | None = typer.Argument(None, help="model name (see `genkit plugins`); may come from --config"),
    config: Path | None = typer.Option(None, "--config", help="TOML file with [model] and [train] tables"),
    dataset: str | None = typer.Option(
        None, "--dataset", help="mnist, fashion-mnist, folder:PATH, or a plugin's dataset"
    ),
    data_dir: str | None = typer.Option(None, "--data-dir", help="directory holding the dataset files"),
    epochs: int | None = typer.Option(None, "--epochs"),
    batch_size: int | None = typer.Option(None, "--batch-size"),
    lr: float | None = typer.Option(None, "--lr"),
    device: str | None = typer.Option(None, "--device", help=DEVICE_HELP),
    seed: int | None = typer.Option(None, "--seed"),
    out_dir: Path | None = typer.Option(None, "--out", help="run directory (default runs/MODEL-TIMESTAMP)"),
    resume: str | None = typer.Option(None, "--resume", help="continue this run directory or checkpoint"),
    set_: list[str] = typer.Option(
        [], "--set", help="override any config value: model.latent_dim=2, train.val_size=5000"
    ),
    precision: str | None = typer.Option(
        None, "--precision", help="fp32, bf16, fp16 or auto (fp16 and auto's mixed precision need CUDA)"
    ),
    compile_: bool | None = typer.Option(
        None, "--compile/--no-compile", help="run the objectives through torch.compile"
    ),
    nproc: int | None = typer.Option(
        None,
        "--nproc",
        min=1,
        help="train with N processes on this machine (launches torchrun; one per GPU, or gloo on CPU)",
    ),
    log: list[str] = typer.Option(
        [], "--log", help="also log to this logger, e.g. tensorboard (RUN/tensorboard/); repeat for several"
    ),
):
    """Train a model; writes a run directory with curves, sample grids and checkpoints."""
    if nproc is not None and nproc > 1:
        from ..launch import launch_torchrun

        raise typer.Exit(launch_torchrun(nproc, shared.ARGV))
    from .. import api

    overrides = {
        "train.dataset": dataset,
        "train.data_dir": data_dir,
        "train.epochs": epochs,
        "train.batch_size": batch_size,
        "train.lr": lr,
        "train.device": device,
        "train.seed": seed,
        "train.precision": precision,
        "train.compile": compile_,
        "train.log": log or None,
    }
    result = api.train(model, config=config, overrides=overrides, sets=set_, resume=resume, out=out_dir)
    last = result.metrics[-1] if result.metrics else {}
    if int(os.environ.get("RANK", "0")) != 0:
        return  # under torchrun, rank 0 reports for the job
    out.print(
        f"[green]done[/green]: {result.run.path} ({len(result.metrics)} epochs; final val "
        f"{json.dumps(last.get('val', {}))})"
    )
