"""``genkit.score``: metrics of a trained model on a dataset's test split."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from ..data import load_dataset
from ..drawing import drawing
from ..errors import CapabilityError, ConfigError, GenkitError, PluginError
from ..evaluation import EvalContext, EvalResult, bits_name
from ..files import WriteError
from ..ood import auroc
from ..plugins import get_plugin_manager
from ..rng import isolated_rng
from ..sampling import CANNOT_SAMPLE, default_sampler_name
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


def applicable_metrics(model) -> list[str]:
    """Names of the registered metrics that apply to ``model`` (a metric that fails to load applies to nothing)."""
    pm = get_plugin_manager()
    names = []
    for name in pm.registries["evaluators"].names():
        try:
            if pm.evaluator(name).unsupported_reason(model) is None:
                names.append(name)
        except GenkitError:
            continue
    return names


def default_metrics(name: str, spec, model, messages: list[str]) -> list[str]:
    """The model's default metrics that are installed and apply to it; when some are not (their
    plugin is absent), what does apply, with one line in ``messages`` saying so."""
    applicable = set(applicable_metrics(model))
    defaults = list(spec.default_metrics)
    usable = [n for n in defaults if n in applicable]
    if defaults and usable == defaults:
        return defaults
    fallback = usable or applicable_metrics(model)
    if not defaults:
        return fallback
    absent = [n for n in defaults if n not in usable]
    needs = _declared_plugins(name)
    where = f"; {needs} provides them: is it installed and enabled?" if needs else "."
    if not fallback:
        raise CapabilityError(
            f"no installed metric applies to '{name}': its default metrics {', '.join(absent)} are not "
            f"available{where.rstrip('.')}"
        )
    messages.append(
        f"note: default metrics {', '.join(absent)} of '{name}' are not available{where} Scoring with "
        f"{', '.join(fallback)}."
    )
    return fallback


def _declared_plugins(model_name: str) -> str:
    """The genkit plugins the model's distribution declares it needs, as text (empty if none)."""
    from importlib import metadata

    try:
        package = get_plugin_manager().registries["models"].owner(model_name).package
        requires = metadata.requires(package) or []
    except Exception:  # a plugin registered in-process has no distribution metadata
        return ""
    names = [re.split(r"[\s;<>=!~\[(]", r, maxsplit=1)[0] for r in requires]
    return " or ".join(n for n in names if n.startswith("genkit-"))


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
    lm = target if isinstance(target, LoadedModel) else load(target, device)
    pm = get_plugin_manager()
    spec = pm.model(lm.name)
    messages: list[str] = []
    names = metrics or default_metrics(lm.name, spec, lm.model, messages)
    evaluators = []
    for name in names:
        try:
            ev = pm.evaluator(name)
        except PluginError:
            raise PluginError(
                f"unknown metric '{name}' (metrics for '{lm.name}': "
                f"{', '.join(applicable_metrics(lm.model)) or 'none'})"
            ) from None
        reason = ev.unsupported_reason(lm.model)
        if reason:
            raise CapabilityError(
                f"metric '{name}' does not apply to '{lm.name}': {reason}; metrics that apply: "
                f"{', '.join(applicable_metrics(lm.model)) or 'none'}"
            )
        evaluators.append(ev)
    if reference is not None:
        unfit = [ev.name for ev in evaluators if not ev.takes_reference]
        if unfit:
            takers = [n for n in applicable_metrics(lm.model) if pm.evaluator(n).takes_reference]
            raise ConfigError(
                f"--reference does not apply to metric {', '.join(repr(n) for n in unfit)}, which compares with "
                f"the test split; metrics that take a reference: {', '.join(takers) or 'none installed'}"
            )
    ds_name = dataset or lm.meta["data"]["name"]
    data = load_dataset(ds_name, data_dir or lm.train_config.data_dir)
    check_data_shape(lm.meta, data.test_x.shape[1:], data.name, lm.checkpoint)
    x, y = data.test_x, data.test_y
    if limit and limit > x.shape[0]:
        messages.append(f"note: --limit {limit} is more than the {x.shape[0]} test images of {ds_name}; scoring all")
    if limit:
        x, y = x[:limit], None if y is None else y[:limit]
    x = x.to(lm.device)
    y = None if y is None else y.to(lm.device)
    report = ScoreReport(
        model=lm.name,
        dataset=ds_name + (" (embedded subset)" if data.embedded else ""),
        examples=x.shape[0],
        messages=messages,
        reference=reference,
    )
    draw_with = _sampler(lm, sampler, sampler_options)
    started = time.perf_counter()
    for ev in evaluators:
        advance = progress(ev.name, x.shape[0]) if progress else (lambda n: None)
        bs = batch_size or (100 if (samples or getattr(lm.model, "likelihood_samples", 1)) > 1 else 500)
        ctx = EvalContext(
            model=lm.model,
            x=x,
            y=y,
            dataset=ds_name,
            batch_size=bs,
            samples=samples,
            seed=seed,
            advance=advance,
            sampler=draw_with,
            sampler_name=draw_with and draw_with.name,
            reference=reference,
            data_dir=data_dir or lm.train_config.data_dir,
        )
        with isolated_rng(lm.device, seed):  # latent noise and importance samples repeat with the seed
            report.results[ev.name] = checked_result(ev.evaluate(ctx), ev.name)
    report.seconds = time.perf_counter() - started
    report.messages += _saved(
        lambda: lm.run.append_score(_record(report, lm, samples, limit)), "these scores are shown here only and were"
    )
    return report


def _saved(save: Callable[[], Any], what: str) -> list[str]:
    """``save()``, or the one line saying why what was computed could not be kept (it is still shown)."""
    try:
        save()
    except WriteError as exc:
        return [f"note: {what} not saved: {exc}"]
    return []


def _sampler(lm: LoadedModel, name: str | None, options: dict[str, Any] | None):
    """How this score draws samples; None for a model that cannot sample (unless ``name`` is given)."""
    if name is None and default_sampler_name(lm.model) is None:
        if any(v is not None for v in (options or {}).values()):
            raise CapabilityError(f"'{lm.name}' cannot sample ({CANNOT_SAMPLE}), so sampling options do not apply")
        return None
    return drawing(lm.model, model_name=lm.name, sampler=name, options=options)


def checked_result(result: Any, metric: str) -> EvalResult:
    """An evaluator's result, refused with one line (naming the plugin) when it breaks the contract."""
    owner = _owner_of(metric)
    if not isinstance(result, EvalResult):
        raise PluginError(
            f"metric '{metric}'{owner} returned {type(result).__name__}; evaluate() must return genkit.EvalResult"
        )
    if not isinstance(result.metrics, dict) or not all(
        isinstance(k, str) and isinstance(v, (int, float)) and not isinstance(v, bool)
        for k, v in result.metrics.items()
    ):
        raise PluginError(
            f"metric '{metric}'{owner}: EvalResult.metrics must map names (str) to numbers (int or float)"
        )
    if not isinstance(result.per_example, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in result.per_example.items()
    ):
        raise PluginError(f"metric '{metric}'{owner}: EvalResult.per_example must map names (str) to tensors")
    if not isinstance(result.notes, (list, tuple)) or not all(isinstance(n, str) for n in result.notes):
        raise PluginError(
            f"metric '{metric}'{owner}: EvalResult.notes must be a list of strings (got {type(result.notes).__name__})"
        )
    if not isinstance(result.details, dict) or not all(
        isinstance(k, str) and (v is None or isinstance(v, (str, int, float, bool))) for k, v in result.details.items()
    ):
        raise PluginError(
            f"metric '{metric}'{owner}: EvalResult.details must map names (str) to strings, numbers, booleans or None"
        )
    return result


def _owner_of(metric: str) -> str:
    try:
        return f" (from {get_plugin_manager().registries['evaluators'].owner(metric).package})"
    except GenkitError:
        return ""


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

    lm = target if isinstance(target, LoadedModel) else load(target, device)
    evaluator = get_plugin_manager().evaluator("nll")
    reason = evaluator.unsupported_reason(lm.model)
    if reason:
        raise CapabilityError(f"'{lm.name}' cannot score outliers by bits per dimension: {reason}")
    unit = bits_name(lm.model)  # a likelihood model has one (an undeclared space is the older 'bpd')
    inlier = dataset or lm.meta["data"]["name"]
    if inlier == outlier:
        raise ConfigError(f"the outlier dataset must differ from the inlier dataset ('{inlier}')")
    k = samples or getattr(lm.model, "likelihood_samples", 1)
    bs = batch_size or (100 if k > 1 else 500)
    started = time.perf_counter()
    bpd = {}
    for name in (inlier, outlier):
        data = load_dataset(name, data_dir or lm.train_config.data_dir)
        check_data_shape(lm.meta, data.test_x.shape[1:], data.name, lm.checkpoint)
        x = data.test_x[:limit] if limit else data.test_x
        advance = progress(f"{unit} on {name}", x.shape[0]) if progress else (lambda n: None)
        ctx = EvalContext(
            model=lm.model,
            x=x.to(lm.device),
            y=None,
            dataset=name,
            batch_size=bs,
            samples=samples,
            seed=seed,
            advance=advance,
        )
        with isolated_rng(lm.device, seed):
            bpd[name] = evaluator.evaluate(ctx).per_example[unit]
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
        plot=path,
        samples=k,
        seconds=time.perf_counter() - started,
        unit=unit,
        notes=notes,
    )
    if notes:
        report.plot = None
    report.notes += _saved(
        lambda: lm.run.append_score(
            {
                "checkpoint": str(lm.checkpoint),
                "dataset": inlier,
                "ood": outlier,
                "examples": {inlier: bpd[inlier].numel(), outlier: bpd[outlier].numel()},
                "samples": k,
                "limit": limit,
                "likelihood_space": lm.model.likelihood_space,
                "metrics": report.metrics(),
                "plot": None if report.plot is None else str(path),
                "seconds": round(report.seconds, 2),
                "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
            }
        ),
        "these scores are shown here only and were",
    )
    return report


def _record(report: ScoreReport, lm: LoadedModel, samples, limit) -> dict[str, Any]:
    return {
        "checkpoint": str(lm.checkpoint),
        "dataset": report.dataset,
        "examples": report.examples,
        "samples": samples,
        "limit": limit,
        **({"reference": report.reference} if report.reference else {}),
        "metrics": report.metrics(),
        "details": report.details(),
        "notes": report.notes(),
        "seconds": round(report.seconds, 2),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "torch_threads": torch.get_num_threads(),
    }
