"""`genkit score`: a run's metrics on a test split, or, with --ood, how well its likelihood tells two datasets apart."""

from __future__ import annotations

import typer

from ..errors import ConfigError
from . import views
from .shared import DEVICE_HELP, GUIDANCE, METRIC, SAMPLER, STEPS, TARGET_HELP, TEMPERATURE, command, out, progress


@command()
def score(
    target: str = typer.Argument(..., help=TARGET_HELP),
    metric: list[str] = METRIC,
    samples: int | None = typer.Option(
        None, "--samples", "-k", min=1, help="importance or dequantization samples per image"
    ),
    dataset: str | None = typer.Option(None, "--dataset", help="score on another dataset's test split"),
    data_dir: str | None = typer.Option(None, "--data-dir"),
    limit: int | None = typer.Option(None, "--limit", min=1, help="score only the first N test images"),
    seed: int = typer.Option(
        0,
        "--seed",
        help="seed of every evaluator's randomness (binarization, latent noise): the same seed gives the same figures",
    ),
    sampler: str | None = SAMPLER,
    steps: int | None = STEPS,
    guidance: float | None = GUIDANCE,
    temperature: float | None = TEMPERATURE,
    ood: str | None = typer.Option(
        None, "--ood", help="outlier dataset: bpd histograms of both test splits, their means and the AUROC"
    ),
    reference: str | None = typer.Option(
        None,
        "--reference",
        help="what sample metrics that take one (inception-fid...) compare with instead of the test split: a "
        "dataset (its test split) or folder:PATH (every image in it)",
    ),
    as_json: bool = typer.Option(False, "--json", help="print the metrics as JSON"),
    device: str = typer.Option("auto", "--device", help=DEVICE_HELP),
):
    """Score a trained model on a test split (likelihood, bound, sample quality...)."""
    from .. import api

    options = {"steps": steps, "guidance": guidance, "temperature": temperature}
    with progress() as bar:

        def start(name: str, total: int):
            task = bar.add_task(f"scoring {name}", total=total)
            return lambda k: bar.update(task, advance=k)

        if ood:
            if metric and metric != ["bpd"]:
                raise ConfigError("--ood scores by bits per dimension of the model's data; leave out --metric")
            given = [
                f"--{k}" for k, v in {"sampler": sampler, "reference": reference, **options}.items() if v is not None
            ]
            if given:
                raise ConfigError(f"--ood draws no samples; leave out {', '.join(given)}")
            report = api.score_ood(
                target,
                ood,
                dataset=dataset,
                samples=samples,
                data_dir=data_dir,
                limit=limit,
                seed=seed,
                device=device,
                progress=start,
            )
            return _print_ood(report, as_json)
        report = api.score(
            target,
            metric or None,
            samples=samples,
            dataset=dataset,
            data_dir=data_dir,
            limit=limit,
            seed=seed,
            device=device,
            sampler=sampler,
            sampler_options=options,
            reference=reference,
            progress=start,
        )
    if as_json:
        out.print_json(views.score_json(report))
        return
    out.print(views.score_table(report))
    for note in report.notes():
        out.print(note)


def _print_ood(report, as_json: bool) -> None:
    if as_json:
        out.print_json(views.ood_json(report))
        return
    out.print(views.ood_table(report))
    out.print(f"AUROC (higher {report.unit} = outlier): {report.auroc:.4f}")
    if report.plot is not None:
        out.print(f"wrote {report.plot}")
    for note in report.notes:
        out.print(note)
