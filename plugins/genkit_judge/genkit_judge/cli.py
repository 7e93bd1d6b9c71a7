"""``genkit judge ...``: train a judge and print reference rows of its metrics."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

judge_app = typer.Typer(
    no_args_is_help=True, help="The sample-quality judge: a classifier per dataset whose features score samples."
)
_out = Console()
_err = Console(stderr=True)


@judge_app.command("train")
def train(
    dataset: str = typer.Option(
        "mnist", "--dataset", help="labelled dataset to train the judge of (mnist, fashion-mnist)"
    ),
    data_dir: str | None = typer.Option(None, "--data-dir", help="directory holding the dataset files"),
    epochs: int = typer.Option(8, "--epochs"),
    seed: int = typer.Option(0, "--seed"),
    device: str = typer.Option("cpu", "--device", help="cpu, cuda or cuda:N"),
):
    """Train the judge of a dataset and store it in genkit's user cache."""
    from .training import train_judge

    report = train_judge(
        dataset,
        data_dir,
        epochs=epochs,
        seed=seed,
        device=device,
        on_epoch=lambda e, loss, s: _err.print(f"judge epoch {e}/{epochs}: loss {loss:.4f} ({s:.1f}s)"),
    )
    _out.print(
        f"[green]judge for {dataset}[/green]: test accuracy {report.test_accuracy:.4f} on "
        f"{report.test_examples} test images ({report.seconds:.0f}s) -> {report.path}"
    )


@judge_app.command("reference")
def reference(
    dataset: str = typer.Option("mnist", "--dataset"),
    data_dir: str | None = typer.Option(None, "--data-dir"),
    n: int = typer.Option(10_000, "-n", help="images per row"),
    seed: int = typer.Option(0, "--seed"),
    as_json: bool = typer.Option(False, "--json"),
):
    """The judge's metrics for training images (the floor) and for uniform noise, against the test split."""
    from .reference import reference_rows

    rows = reference_rows(dataset, data_dir, n, seed)
    if as_json:
        _out.print_json(json.dumps(rows))
        return
    names = [k for k in next(iter(rows.values())) if k != "histogram"]
    table = Table(title=f"judge reference rows on {dataset} test")
    table.add_column("images")
    for k in names:
        table.add_column(k, justify="right")
    for row_name, values in rows.items():
        table.add_row(
            row_name, *(f"{values[k]:.4f}" if isinstance(values[k], float) else str(values[k]) for k in names)
        )
    _out.print(table)


@judge_app.command("info")
def info(dataset: str = typer.Option("mnist", "--dataset")):
    """Where a dataset's judge is and how it scored when trained."""
    from .store import judge_info, judge_path

    _out.print_json(json.dumps({"path": str(judge_path(dataset)), **judge_info(dataset)}))
