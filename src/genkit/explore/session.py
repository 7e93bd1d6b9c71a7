"""One served run: what the page may offer it, and the work behind each of its controls.

Everything here goes through the Python API and the model contract: samples
through :func:`genkit.api.generation.draw_samples` (the drawing path of
``genkit sample``, with its option and label checks), interpolation and the
manifold through the API's own checks, scores through the ``nll`` evaluator,
completion through :class:`genkit.CompletionModel`. What a run cannot do is
described by the refusal the command line would print, so the page offers a
control only where the model's contract allows it and says why otherwise.

All methods but :meth:`ExploredRun.describe` run on the explorer's one worker
thread (see ``jobs.py``), so a model is never used by two requests at once.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import torch

from ..api.generation import (
    check_interpolation,
    check_manifold,
    draw_samples,
    interpolation_ends,
    interpolation_path,
    manifold_images,
)
from ..api.loading import LoadedModel
from ..capabilities import EncoderModel, capabilities, completes
from ..data import load_dataset
from ..drawing import applicable_samplers, drawing
from ..errors import CapabilityError, GenkitError
from ..evaluation import bits_name, likelihood_samples
from ..metrics import evaluate
from ..model import Batch
from ..plugins import get_plugin_manager
from ..sampling import USER_OPTIONS, Drawing, checked_condition, decode, latent_grid_point, sampler_options, start_noise

Progress = Callable[[int, int], None]

#: Sliders offered along the leading principal directions of the encoded test images.
MAX_DIRECTIONS = 8


@dataclass
class TestImages:
    """The test images the page picks from, scores against and estimates latent directions with."""

    x: torch.Tensor  # uint8 [N, C, H, W], on the CPU
    y: torch.Tensor | None
    dataset: str
    class_names: list[str]


@dataclass
class Directions:
    """Principal directions of the encoded test images: ``mean + sum_k s_k * sigma_k * vector_k``."""

    mean: torch.Tensor  # [D], the flattened latent
    vectors: torch.Tensor  # [K, D], unit length, by decreasing variance
    sigmas: torch.Tensor  # [K], standard deviation of the codes along each
    shares: torch.Tensor  # [K], each one's share of the codes' total variance
    count: int  # test images encoded


def load_test_images(
    lm: LoadedModel, dataset: str | None, data_dir: str | None, limit: int, cache: dict
) -> tuple[TestImages | None, str | None]:
    """The first ``limit`` test images of ``dataset`` (default: the run's own), or why there are none.

    ``cache`` holds datasets already read, by name and directory, so runs on one dataset share it.
    """
    name = dataset or lm.meta["data"]["name"]
    where = data_dir or lm.train_config.data_dir
    try:
        if (name, where) not in cache:
            cache[(name, where)] = load_dataset(name, where)
        data = cache[(name, where)]
    except GenkitError as exc:
        return None, f"no test images: {exc}"
    shape = tuple(data.test_x.shape[1:])
    if shape != tuple(lm.data_info.shape):
        return None, (
            f"no test images: '{name}' has images of shape {list(shape)}; '{lm.name}' was trained on "
            f"{list(lm.data_info.shape)}"
        )
    y = None if data.test_y is None else data.test_y[:limit]
    return TestImages(data.test_x[:limit], y, data.name, list(data.class_names)), None


class ExploredRun:
    """A loaded model and what the page does with it."""

    def __init__(
        self,
        key: str,
        lm: LoadedModel,
        test: TestImages | None,
        test_problem: str | None = None,
        samples: int | None = None,
    ):
        self.key, self.lm, self.test, self.test_problem = key, lm, test, test_problem
        self.model = lm.model
        self.likelihood_samples = likelihood_samples(self.model, samples)
        self._directions: Directions | None = None
        self._histogram: torch.Tensor | None = None
        self._description = self._describe()

    def describe(self) -> dict:
        """What the page may offer this run, each refusal in the command line's wording (worked out once)."""
        return self._description

    @property
    def latent_refusal(self) -> str | None:
        return self._description["latent"]["refusal"]

    @property
    def manifold_refusal(self) -> str | None:
        return self._description["manifold"]["refusal"]

    @property
    def sampling_refusal(self) -> str | None:
        return self._description["sampling"]["refusal"]

    # -- what the page offers -------------------------------------------------
    def _describe(self) -> dict:
        lm, model = self.lm, self.model
        info = lm.meta.get("data", {})
        return {
            "key": self.key,
            "name": lm.run.path.name,
            "model": lm.name,
            "dataset": info.get("name"),
            "shape": list(lm.data_info.shape),
            "epochs": (lm.meta.get("progress") or {}).get("epoch"),
            "capabilities": capabilities(model),
            "sampling": self._sampling(),
            "label": self._label(),
            "latent": {"refusal": _refusal(check_interpolation, lm)},
            "encoder": {"refusal": self.encoder_refusal()},
            "directions": {"refusal": self.directions_refusal()},
            "manifold": {"refusal": _refusal(check_manifold, lm)},
            "likelihood": {
                "refusal": self.likelihood_refusal(),
                "unit": self.unit,
                "samples": self.likelihood_samples,
            },
            "completion": {"refusal": self.completion_refusal()},
            "test_images": {
                "refusal": self.test_problem,
                "count": 0 if self.test is None else int(self.test.x.shape[0]),
                "dataset": None if self.test is None else self.test.dataset,
            },
        }

    def _sampling(self) -> dict:
        lm = self.lm
        try:
            default = drawing(lm.model, model_name=lm.name).name
            checked_condition(lm.model, 1, model_name=lm.name)
        except CapabilityError as exc:
            return {"refusal": str(exc), "default": None, "samplers": []}
        samplers = []
        for name in applicable_samplers(lm.model, lm.name):
            sampler = get_plugin_manager().sampler(name)
            takes = [o for o in USER_OPTIONS if o in sampler_options(sampler)]
            refusals = {
                o: _refusal(Drawing, lm.model, sampler, name, {o: 1}, model_name=lm.name)
                for o in USER_OPTIONS
                if o not in takes
            }
            about = getattr(sampler, "description", "")
            samplers.append({"name": name, "description": about, "options": takes, "refusals": refusals})
        return {"refusal": None, "default": default, "samplers": samplers}

    def _label(self) -> dict:
        classes = self.lm.data_info.num_classes
        names = self.test.class_names if self.test is not None and self.test.class_names else []
        refusal = _refusal(checked_condition, self.model, 1, 0, model_name=self.lm.name)
        return {"refusal": refusal, "classes": classes, "names": names}

    def encoder_refusal(self) -> str | None:
        refusal = _refusal(check_interpolation, self.lm)
        if refusal:
            return refusal
        if not isinstance(self.model, EncoderModel):
            return f"latent directions are estimated from encoded test images, and '{self.lm.name}' has no encoder"
        return None

    def directions_refusal(self) -> str | None:
        return self.encoder_refusal() or self.test_problem

    def likelihood_refusal(self) -> str | None:
        reason = get_plugin_manager().evaluator("nll").unsupported_reason(self.model)
        if reason:
            return f"metric 'nll' does not apply to '{self.lm.name}': {reason}"
        return self.test_problem

    def completion_refusal(self) -> str | None:
        if completes(self.model):
            return None
        return (
            f"'{self.lm.name}' completes no images: only a genkit.CompletionModel conditioned on part of its "
            f"images does (this one is conditioned on {self.model.conditioning or 'nothing'})"
        )

    @property
    def unit(self) -> str:
        return bits_name(self.model) or "nll_nats"

    # -- samples --------------------------------------------------------------
    def sample(self, n: int, seed: int, *, sampler=None, label=None, progress: Progress | None = None, **options):
        """``n`` samples drawn as ``genkit sample`` draws them (``options``: temperature, steps, guidance)."""
        return draw_samples(self.lm, n, seed=seed, label=label, sampler=sampler, progress=progress, **options)

    def check_sample(self, *, sampler=None, label=None, **options) -> None:
        """Refuse, before any work is queued, what :meth:`sample` would refuse (unknown sampler,
        an option it does not take, a label the model takes none of)."""
        drawing(self.model, model_name=self.lm.name, sampler=sampler, options=options)
        checked_condition(self.model, 1, label, model_name=self.lm.name)

    def sample_latents(self, n: int, seed: int, temperature: float | None = None) -> torch.Tensor:
        """The latent codes of a grid of ``n`` samples with ``seed``: the start noise
        (:func:`genkit.sampling.start_noise`) the samplers of a latent model start from, which the
        ``prior`` sampler decodes."""
        check_interpolation(self.lm)
        generator = torch.Generator(device=self.lm.device).manual_seed(seed)
        scale = 1.0 if temperature is None else temperature
        return start_noise(self.model, n, generator, scale=scale)

    # -- latent space ---------------------------------------------------------
    def interpolate(self, z0: torch.Tensor, z1: torch.Tensor, steps: int, method: str) -> torch.Tensor:
        check_interpolation(self.lm)
        return interpolation_path(self.lm, z0, z1, steps, method)

    def class_ends(self, first: int | None, second: int | None, seed: int):
        """Two latent points of the given (or any two) classes, as ``genkit interpolate`` picks them."""
        check_interpolation(self.lm)
        labelled = self.test is not None and self.test.y is not None
        test = (self.test.x, self.test.y) if labelled else None
        z0, z1, caption, _ = interpolation_ends(self.lm, first, second, seed, self.lm.train_config.data_dir, test=test)
        return z0, z1, caption

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The latent code of one image ``uint8 [1, C, H, W]`` (refused without an encoder)."""
        refusal = self.encoder_refusal()
        if refusal:
            raise CapabilityError(refusal)
        generator = torch.Generator(device=self.lm.device).manual_seed(0)
        with torch.no_grad():
            batch = self.model.prepare_batch(Batch(x=x.to(self.lm.device)), generator=generator)
            return self.model.encode(batch)[0]

    def directions(self, progress: Progress | None = None) -> Directions:
        """The principal directions of the encoded test images (computed once)."""
        if self._directions is None:
            refusal = self.directions_refusal()
            if refusal:
                raise CapabilityError(refusal)
            x = self.test.x
            generator = torch.Generator(device=self.lm.device).manual_seed(0)
            codes = []
            with torch.no_grad():
                for start in range(0, x.shape[0], 500):
                    raw = Batch(x=x[start : start + 500].to(self.lm.device))
                    codes.append(self.model.encode(self.model.prepare_batch(raw, generator=generator)).flatten(1))
                    if progress:
                        progress(min(start + 500, x.shape[0]), x.shape[0])
            z = torch.cat(codes).float().cpu()
            mean = z.mean(0)
            _, s, vh = torch.linalg.svd(z - mean, full_matrices=False)
            k = min(MAX_DIRECTIONS, vh.shape[0])
            self._directions = Directions(
                mean=mean,
                vectors=vh[:k],
                sigmas=s[:k] / math.sqrt(max(1, z.shape[0] - 1)),
                shares=s[:k].square() / s.square().sum().clamp_min(1e-12),
                count=z.shape[0],
            )
        return self._directions

    def move(self, base: torch.Tensor, offsets: list[float]) -> torch.Tensor:
        """Decode ``base`` moved by ``offsets[k]`` standard deviations along principal direction k."""
        check_interpolation(self.lm)
        z = base.detach().float().cpu().flatten().clone()
        if offsets:
            d = self.directions()
            if len(offsets) > d.vectors.shape[0]:
                raise GenkitError(f"there are {d.vectors.shape[0]} latent directions; got {len(offsets)} offsets")
            s = torch.tensor(offsets, dtype=torch.float32)
            z += (s * d.sigmas[: len(offsets)]) @ d.vectors[: len(offsets)]
        latent = z.view(1, *self.model.latent_shape).to(self.lm.device)
        return decode(self.model, latent, what="interpolation", model_name=self.lm.name)

    def manifold(self, side: int) -> torch.Tensor:
        return manifold_images(self.lm, side)

    def manifold_point(self, x: float, y: float, side: int) -> torch.Tensor:
        """The latent code under fractions ``(x, y)`` of the manifold picture with ``side`` tiles a side."""
        check_manifold(self.lm)
        return latent_grid_point(x, y, side, tuple(self.model.latent_shape))

    # -- likelihood -----------------------------------------------------------
    def histogram(self, progress: Progress | None = None) -> torch.Tensor:
        """Per-image scores (:attr:`unit`) of the test images (computed once)."""
        if self._histogram is None:
            refusal = self.likelihood_refusal()
            if refusal:
                raise CapabilityError(refusal)
            total = self.test.x.shape[0]
            done = [0]

            def advance(k: int) -> None:
                done[0] += k
                if progress:
                    progress(done[0], total)

            self._histogram = self._scores(self.test.x, advance)
        return self._histogram

    def score(self, x: torch.Tensor) -> float:
        """The score (:attr:`unit`) of one image ``uint8 [1, C, H, W]``, as the test images were scored."""
        refusal = self.likelihood_refusal()
        if refusal:
            raise CapabilityError(refusal)
        return float(self._scores(x, lambda k: None)[0])

    def _scores(self, x: torch.Tensor, advance: Callable[[int], None]) -> torch.Tensor:
        dataset = self.test.dataset if self.test else self.lm.meta["data"]["name"]
        with warnings.catch_warnings():
            # the metric's standard error of one image's score has no degrees of freedom; only per_example is used
            warnings.filterwarnings("ignore", message=r"std\(\): degrees of freedom")
            nll = get_plugin_manager().evaluator("nll")
            result = evaluate(
                nll,
                self.model,
                x.to(self.lm.device),
                None,
                dataset=dataset,
                samples=self.likelihood_samples,
                advance=advance,
            )
        return result.per_example[self.unit].float().cpu()

    # -- completion -----------------------------------------------------------
    def complete(self, x: torch.Tensor, k: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        """What the model observes of image ``x`` (``uint8 [1, C, H, W]``) and ``k`` completions from it."""
        refusal = self.completion_refusal()
        if refusal:
            raise CapabilityError(refusal)
        device = self.lm.device
        with torch.no_grad():
            one = self.model.prepare_batch(Batch(x=x.to(device)), generator=torch.Generator(device).manual_seed(seed))
            many = Batch(
                x=one.x.expand(k, *one.x.shape[1:]),
                y=None,
                condition=None if one.condition is None else one.condition.expand(k, *one.condition.shape[1:]),
            )
            completions = self.model.complete(many, generator=torch.Generator(device).manual_seed(seed + 1))
            return self.model.observed(one), completions

    # -- test images ----------------------------------------------------------
    def test_image(self, index: int) -> torch.Tensor:
        if self.test is None:
            raise GenkitError(self.test_problem or "no test images")
        count = self.test.x.shape[0]
        if not 0 <= index < count:
            raise GenkitError(f"test image {index} is out of range: this run serves test images 0 to {count - 1}")
        return self.test.x[index : index + 1]

    def test_choice(self, n: int, seed: int) -> tuple[list[int], list[int | None]]:
        """``n`` test images picked with ``seed``: their indices and labels."""
        if self.test is None:
            raise GenkitError(self.test_problem or "no test images")
        order = torch.randperm(self.test.x.shape[0], generator=torch.Generator().manual_seed(seed))[:n].tolist()
        labels = [None if self.test.y is None else int(self.test.y[i]) for i in order]
        return order, labels


def _refusal(check: Callable, *args, **kwargs) -> str | None:
    """The one-line refusal ``check(*args, **kwargs)`` raises, or None when it passes."""
    try:
        check(*args, **kwargs)
    except CapabilityError as exc:
        return str(exc)
    return None
