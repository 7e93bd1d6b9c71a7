"""``genkit fid A B``: Inception figures between two sets of images made by any tool."""

from __future__ import annotations

import json

import typer
from rich.console import Console

_out = Console()
_err = Console(stderr=True)


def fid(
    generated: str = typer.Argument(..., help="the generated images: a folder (or folder:PATH) or a dataset name"),
    reference: str = typer.Argument(
        ..., help="the real images: a folder (or folder:PATH) or a dataset name (its test split)"
    ),
    kid: bool = typer.Option(False, "--kid", help="also the Kernel Inception Distance"),
    precision_recall: bool = typer.Option(
        False, "--precision-recall", help="also improved precision and recall (k = 3) in Inception features"
    ),
    inception_score: bool = typer.Option(False, "--inception-score", help="also the Inception Score of GENERATED"),
    feature_weights: str | None = typer.Option(
        None,
        "--feature-weights",
        help="torch-fidelity's Inception-v3 weights file (checked by SHA-256; kept in the cache for later "
        "commands); or set GENKIT_INCEPTION_WEIGHTS",
    ),
    feature_weights_sha256: str | None = typer.Option(
        None,
        "--feature-weights-sha256",
        help="the SHA-256 of weights you converted yourself (default: torch-fidelity's file); their figures "
        "are marked as not comparable with published ones",
    ),
    data_dir: str | None = typer.Option(None, "--data-dir", help="directory holding the dataset files"),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda or cuda:N"),
    as_json: bool = typer.Option(False, "--json", help="print figures, details and notes as JSON"),
):
    """Frechet Inception Distance (and KID, IS, precision/recall) between two sets of images.

    Inception-v3 features exactly as torch-fidelity computes them; a folder's or a dataset's
    features are cached, keyed by its contents and the weights.
    """
    from .images import from_spec
    from .metrics import POOL_DIM, check_sizes
    from .weights import resolve

    # Weights, folders and counts are checked before the network is built: a mistake is one line at once.
    weights = resolve(feature_weights, feature_weights_sha256)
    sets = [from_spec(generated, data_dir), from_spec(reference, data_dir)]
    check_sizes(sets[0].count, sets[1].count, POOL_DIM)
    from .compare import compare

    which = ["fid"] + ["kid"] * kid + ["is"] * inception_score + ["pr"] * precision_recall
    with _bars() as bars:

        def start(name: str, total: int):
            task = bars.add_task(name, total=total)
            return lambda k: bars.update(task, advance=k)

        report = compare(
            *sets,
            which,
            weights=weights,
            device=device,
            progress=start,
        )
    if as_json:
        _out.print_json(json.dumps({"metrics": report.metrics, "details": report.details, "notes": report.notes}))
        return
    from rich.table import Table

    table = Table(title=f"{report.details['samples']} vs {report.details['reference_images']} images")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in report.metrics.items():
        table.add_row(name, f"{value:.6g}")
    _out.print(table)
    for note in report.notes:
        _out.print(note, highlight=False, soft_wrap=True)


def _bars():
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    return Progress(*columns, console=_err, transient=True)
