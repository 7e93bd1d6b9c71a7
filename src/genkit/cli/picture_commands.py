"""The commands that draw pictures from a trained model: `genkit sample`, `interpolate` and `manifold`."""

from __future__ import annotations

from pathlib import Path

import typer

from .shared import DEVICE_HELP, GUIDANCE, SAMPLER, STEPS, TARGET_HELP, TEMPERATURE, command, out, progress


@command()
def sample(
    target: str = typer.Argument(..., help=TARGET_HELP),
    n: int = typer.Option(25, "-n", min=1, help="number of samples"),
    sampler: str | None = SAMPLER,
    steps: int | None = STEPS,
    guidance: float | None = GUIDANCE,
    temperature: float | None = TEMPERATURE,
    label: int | None = typer.Option(None, "--label", help="class to draw (label-conditional models)"),
    seed: int = typer.Option(0, "--seed"),
    out_file: Path | None = typer.Option(None, "--out", help="PNG to write (default RUN/samples.png)"),
    device: str = typer.Option("auto", "--device", help=DEVICE_HELP),
):
    """Draw samples from a trained model as a grid."""
    from .. import api

    with progress() as bar:
        task = bar.add_task("sampling", total=None)
        pic = api.sample(
            target,
            n,
            temperature=temperature,
            steps=steps,
            guidance=guidance,
            seed=seed,
            label=label,
            sampler=sampler,
            out=out_file,
            device=device,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    out.print(f"wrote {pic.path}")


@command()
def interpolate(
    target: str = typer.Argument(..., help=TARGET_HELP),
    steps: int = typer.Option(7, "--steps", min=1, help="images between the two ends"),
    method: str = typer.Option("both", "--method", help="linear, spherical or both"),
    from_class: int | None = typer.Option(None, "--from-class"),
    to_class: int | None = typer.Option(None, "--to-class"),
    seed: int = typer.Option(0, "--seed"),
    data_dir: str | None = typer.Option(None, "--data-dir"),
    out_file: Path | None = typer.Option(None, "--out", help="PNG to write (default RUN/interpolation.png)"),
    device: str = typer.Option("auto", "--device", help=DEVICE_HELP),
):
    """Decode a path between two latent points of different classes."""
    from .. import api

    pic = api.interpolate(
        target,
        steps,
        method=method,
        from_class=from_class,
        to_class=to_class,
        seed=seed,
        out=out_file,
        device=device,
        data_dir=data_dir,
    )
    for note in pic.notes:
        out.print(f"note: {note}", highlight=False)
    out.print(f"wrote {pic.path}")


@command()
def manifold(
    target: str = typer.Argument(..., help=TARGET_HELP),
    side: int = typer.Option(20, "--side", min=2, help="grid points per axis"),
    out_file: Path | None = typer.Option(None, "--out", help="PNG to write (default RUN/manifold.png)"),
    device: str = typer.Option("auto", "--device", help=DEVICE_HELP),
):
    """Decode a grid over a 2-D latent space into one image."""
    from .. import api

    pic = api.manifold(target, side, out=out_file, device=device)
    out.print(f"wrote {pic.path}")
