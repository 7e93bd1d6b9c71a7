"""The command this plugin adds to the ``genkit`` command line."""

from __future__ import annotations

from pathlib import Path

import typer


def complete(
    target: str = typer.Argument(
        ..., help="a column-conditional CVAE run, checkpoint, or model name (its most recent run)"
    ),
    source: str = typer.Option("column", "--from", help="what the completion starts from (column)"),
    regressor: str | None = typer.Option(
        None, "--regressor", help="regressor run to compare with (default: the most recent regressor run)"
    ),
    digits: int = typer.Option(8, "--digits", help="test digits, one per row"),
    completions: int = typer.Option(5, "--completions", "-k", help="CVAE completions per digit"),
    seed: int = typer.Option(0, "--seed"),
    data_dir: str | None = typer.Option(None, "--data-dir"),
    out_file: Path | None = typer.Option(None, "--out", help="PNG to write (default RUN/completion.png)"),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda or cuda:N"),
):
    """Complete test digits from their middle column: CVAE samples beside the regressor and the truth."""
    from .completion import completion_figure  # torch and matplotlib load only when the command runs

    path = completion_figure(
        target,
        regressor=regressor,
        source=source,
        digits=digits,
        completions=completions,
        seed=seed,
        data_dir=data_dir,
        out=out_file,
        device=device,
    )
    typer.echo(f"wrote {path}")
