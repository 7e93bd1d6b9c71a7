"""``genkit.score`` and ``genkit.score_ood``: metrics of a trained model on a dataset's test split, and
how far its likelihood tells another dataset's images apart; both run their evaluators through
:func:`genkit.metrics.evaluate` and keep one record per call in ``RUN/scores.json``."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from ..data import load_dataset
from ..drawing import drawing
from ..errors import CapabilityError, ConfigError
from ..evaluation import EvalResult, bits_name, likelihood_samples
from ..files import WriteError
from ..metrics import applicable_metrics, default_metrics, evaluate, evaluator_for
from ..ood import auroc
from ..plugins import get_plugin_manager
from ..sampling import CANNOT_SAMPLE, Drawing, default_sampler_name, drawing_with
from ..training.state import check_data_shape
from .loading import LoadedModel, load


@dataclass
class ScoreReport:
    model: str
    dataset: str
    examples: int
    results: dict[str, EvalResult] = field(default_factory=dict)
    seconds: float = 0.0
    #: Lines about the choice of metrics (a default metric whose plugin is absent).
    messages: list[str] = field(default_factory=list)
    #: ``--reference``: what sample metrics compared with instead of the test split.
    reference: str | None = None

    def metrics(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for r in self.results.values():
            out.update(r.metrics)
        return out

    def notes(self) -> list[str]:
        """Every evaluator's notes (per-class figures, what a metric counts), in metric order; a line
        several metrics share (metrics computed from one draw) once."""
        return list(dict.fromkeys(self.messages + [note for r in self.results.values() for note in r.notes]))

    def details(self) -> dict[str, dict[str, Any]]:
        """What each metric's figures depend on (samples, reference, extractor), for metrics that say."""
        return {name: dict(r.details) for name, r in self.results.items() if r.details}


def score(
    target,
    metrics: list[str] | None = None,
    *,
    samples: int | None = None,
    dataset: str | None = None,
    data_dir: str | None = None,
    limit: int | None = None,
    batch_size: int | None = None,
    seed: int = 0,
    device: str = "auto",
    sampler: str | None = None,
    sampler_options: dict[str, Any] | None = None,
    reference: str | None = None,
    progress: Callable[[str, int], Callable[[int], None]] | None = None,
) -> ScoreReport:
    """Score a model on a dataset's test split (the training dataset by default).

    Args:
        metrics: evaluator names (default: the model's default metrics).
        samples: importance/dequantization samples for likelihood metrics.
        limit: score only the first ``limit`` test images.
        sampler: how metrics that need samples draw them (default: the model's sampler).
        sampler_options: ``steps``, ``guidance`` or ``temperature`` for that sampler.
        reference: what sample metrics that take one compare with instead of the test split: a
            dataset (its test split) or ``folder:PATH`` (every image in it).
        progress: ``progress(metric, total) -> advance`` for a progress display.
    """
    lm = _loaded(target, device)
    draw = _drawing(lm, sampler, sampler_options)  # refused before any work: an option, a sampler that does not apply
    messages: list[str] = []
    with drawing_with(sampler and draw.name):  # a named sampler lets sample metrics score a model with no default
        evaluators = _evaluators(lm, metrics, reference, messages)
        ds_name = dataset or lm.meta["data"]["name"]
        data = load_dataset(ds_name, data_dir or lm.train_config.data_dir)
        check_data_shape(lm.meta, data.test_x.shape[1:], data.name, lm.checkpoint)
        x, y = data.test_x, data.test_y
        if limit and limit > x.shape[0]:
            messages.append(
                f"note: --limit {limit} is more than the {x.shape[0]} test images of {ds_name}; scoring all"
            )
        if limit:
            x, y = x[:limit], None if y is None else y[:limit]
        x, y = x.to(lm.device), None if y is None else y.to(lm.device)
        report = ScoreReport(
            model=lm.name,
            dataset=ds_name + (" (embedded subset)" if data.embedded else ""),
            examples=x.shape[0],
            messages=messages,
            reference=reference,
        )
        started = time.perf_counter()
        for ev in evaluators:
            report.results[ev.name] = evaluate(
                ev,
                lm.model,
                x,
                y,
                dataset=ds_name,
                seed=seed,
                samples=samples,
                batch_size=batch_size,
                limit=limit,
                sampler=draw,
                sampler_name=draw and draw.name,
                advance=progress(ev.name, x.shape[0]) if progress else None,
                reference=reference,
                data_dir=data_dir or lm.train_config.data_dir,
            )
        report.seconds = time.perf_counter() - started
    record = _record(
        lm,
        dataset=report.dataset,
        examples=report.examples,
        samples=samples,
        limit=limit,
        metrics=report.metrics(),
        seconds=report.seconds,
        **({"reference": reference} if reference else {}),
        details=report.details(),
        notes=report.notes(),
    )
    report.messages += _saved(lambda: lm.run.append_score(record), "these scores are shown here only and were")
    return report


def _loaded(target, device: str) -> LoadedModel:
    return target if isinstance(target, LoadedModel) else load(target, device)


def _evaluators(lm: LoadedModel, names: list[str] | None, reference: str | None, messages: list[str]):
    """The metrics asked for (default: the model's), each refused in one line unless it applies,
    and ``--reference`` refused for a metric that compares with the test split only."""
    pm = get_plugin_manager()
    names = names or default_metrics(lm.name, pm.model(lm.name), lm.model, messages)
    evaluators = [evaluator_for(name, lm.model, lm.name) for name in names]
    if reference is not None:
        unfit = [ev.name for ev in evaluators if not ev.takes_reference]
        if unfit:
            takers = [n for n in applicable_metrics(lm.model) if pm.evaluator(n).takes_reference]
            raise ConfigError(
                f"--reference does not apply to metric {', '.join(repr(n) for n in unfit)}, which compares with "
                f"the test split; metrics that take a reference: {', '.join(takers) or 'none installed'}"
            )
    return evaluators


def _saved(save: Callable[[], Any], what: str) -> list[str]:
    """``save()``, or the one line saying why what was computed could not be kept (it is still shown)."""
    try:
        save()
    except WriteError as exc:
        return [f"note: {what} not saved: {exc}"]
    return []


def _drawing(lm: LoadedModel, name: str | None, options: dict[str, Any] | None) -> Drawing | None:
    """How this score draws samples; None for a model that cannot sample (unless ``name`` is given)."""
    if name is None and default_sampler_name(lm.model) is None:
        if any(v is not None for v in (options or {}).values()):
            raise CapabilityError(f"'{lm.name}' cannot sample ({CANNOT_SAMPLE}), so sampling options do not apply")
        return None
    return drawing(lm.model, model_name=lm.name, sampler=name, options=options)


@dataclass
class OODReport:
    """Bits per dimension of a model's own test split (inliers) and of another dataset's (outliers).

    ``unit`` names the figure after the model's likelihood space: ``bpd`` for 8-bit
    images, ``bits_per_binarized_pixel`` for a binarized model (both splits go through
    the same model's ``prepare_batch``, so they are always in the same space).
    ``auroc`` is that of the figure as an outlier score: 1.0 when every outlier gets a
    higher value than every inlier, 0.5 for no separation, below 0.5 when the model
    prefers the outliers.
    """

    model: str
    inlier: str
    outlier: str
    inlier_bpd: torch.Tensor
    outlier_bpd: torch.Tensor
    auroc: float
    plot: Any
    samples: int | None = None
    seconds: float = 0.0
    unit: str = "bpd"
    #: Lines about what could not be saved (the plot, the scores), which are still shown.
    notes: list[str] = field(default_factory=list)

    def metrics(self) -> dict[str, float]:
        return {
            f"{self.unit}_{self.inlier}": self.inlier_bpd.mean().item(),
            f"{self.unit}_{self.outlier}": self.outlier_bpd.mean().item(),
            "auroc": self.auroc,
        }


def score_ood(
    target,
    outlier: str,
    *,
    dataset: str | None = None,
    samples: int | None = None,
    data_dir: str | None = None,
    limit: int | None = None,
    batch_size: int | None = None,
    seed: int = 0,
    device: str = "auto",
    plot: str | None = None,
    progress: Callable[[str, int], Callable[[int], None]] | None = None,
) -> OODReport:
    """Out-of-distribution scoring by bits per dimension, for any model with a likelihood.

    Scores every test image of the model's own dataset (or ``dataset``) and of
    ``outlier`` with the ``nll`` evaluator, in bits per dimension of the model's
    likelihood space (`bpd` for an older model that declares none), writes both
    histograms to one PNG in the run directory, and returns the means and the
    AUROC of the figure as the score.

    Args:
        outlier: the dataset whose test split plays the outliers.
        limit: score only the first ``limit`` test images of each split.
        plot: the PNG to write (default ``RUN/ood-INLIER-vs-OUTLIER.png``).
    """
    from ..plots import save_histograms

    lm = _loaded(target, device)
    evaluator = get_plugin_manager().evaluator("nll")
    reason = evaluator.unsupported_reason(lm.model)
    if reason:
        raise CapabilityError(f"'{lm.name}' cannot score outliers by bits per dimension: {reason}")
    unit = bits_name(lm.model)  # a likelihood model has one (an undeclared space is the older 'bpd')
    inlier = dataset or lm.meta["data"]["name"]
    if inlier == outlier:
        raise ConfigError(f"the outlier dataset must differ from the inlier dataset ('{inlier}')")
    started = time.perf_counter()
    bpd = {}
    for name in (inlier, outlier):
        data = load_dataset(name, data_dir or lm.train_config.data_dir)
        check_data_shape(lm.meta, data.test_x.shape[1:], data.name, lm.checkpoint)
        x = (data.test_x[:limit] if limit else data.test_x).to(lm.device)
        result = evaluate(
            evaluator,
            lm.model,
            x,
            None,
            dataset=name,
            seed=seed,
            samples=samples,
            batch_size=batch_size,
            limit=limit,
            advance=progress(f"{unit} on {name}", x.shape[0]) if progress else None,
        )
        bpd[name] = result.per_example[unit]
    k = likelihood_samples(lm.model, samples)
    path = plot or lm.run.file(f"ood-{inlier}-vs-{outlier}.png")
    label = unit.replace("_", " ")
    notes = _saved(
        lambda: save_histograms(
            {f"{inlier} test (inlier)": bpd[inlier].numpy(), f"{outlier} test (outlier)": bpd[outlier].numpy()},
            path,
            label,
            title=f"{lm.name}: {label}, K = {k}",
        ),
        "the histograms were",
    )
    report = OODReport(
        model=lm.name,
        inlier=inlier,
        outlier=outlier,
        inlier_bpd=bpd[inlier],
        outlier_bpd=bpd[outlier],
        auroc=auroc(bpd[inlier], bpd[outlier]),
        plot=None if notes else path,
        samples=k,
        seconds=time.perf_counter() - started,
        unit=unit,
        notes=notes,
    )
    record = _record(
        lm,
        dataset=inlier,
        examples={inlier: bpd[inlier].numel(), outlier: bpd[outlier].numel()},
        samples=k,
        limit=limit,
        metrics=report.metrics(),
        seconds=report.seconds,
        ood=outlier,
        likelihood_space=lm.model.likelihood_space,
        plot=None if report.plot is None else str(path),
    )
    report.notes += _saved(lambda: lm.run.append_score(record), "these scores are shown here only and were")
    return report


def _record(
    lm: LoadedModel,
    *,
    dataset: str,
    examples: int | dict[str, int],
    samples: int | None,
    limit: int | None,
    metrics: dict[str, Any],
    seconds: float,
    **extra: Any,
) -> dict[str, Any]:
    """One line of ``RUN/scores.json`` (score and ``--ood`` alike): what was scored, how, the figures;
    ``extra`` holds what only one kind has (``--reference``, details and notes; the outlier set)."""
    return {
        "checkpoint": str(lm.checkpoint),
        "dataset": dataset,
        "examples": examples,
        "samples": samples,
        "limit": limit,
        **extra,
        "metrics": metrics,
        "seconds": round(seconds, 2),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "torch_threads": torch.get_num_threads(),
    }
