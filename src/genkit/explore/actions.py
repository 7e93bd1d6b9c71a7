"""What each request does: checked at once (so a bad request is answered before it waits in the
queue), then run on the worker as a job that returns JSON with PNG data URLs."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

import torch

from ..errors import GenkitError
from ..plots import histogram_png
from .images import bytes_data_url, fit_image, png_data_url, png_data_urls
from .requests import (
    Base,
    CompleteRequest,
    DirectionsRequest,
    ImageRef,
    InterpolateRequest,
    ManifoldRequest,
    MoveRequest,
    Request,
    RequestError,
    SampleRequest,
    ScoreRequest,
    TestImagesRequest,
    UnknownRun,
)
from .session import ExploredRun

Progress = Callable[[int, int], None]
#: Uploaded images kept in memory for later requests, the newest ones.
KEEP_UPLOADS = 32


class Explorer:
    """The served runs and the images uploaded to them."""

    def __init__(self, runs: list[ExploredRun]):
        self.runs = {r.key: r for r in runs}
        self.uploads: OrderedDict[str, object] = OrderedDict()

    def describe(self) -> list[dict]:
        return [r.describe() for r in self.runs.values()]

    def run(self, key: str) -> ExploredRun:
        found = self.runs.get(key)
        if found is None:
            served = ", ".join(self.runs)
            raise UnknownRun(f"no run {key[:80]!r} is served here (served: {served})")
        return found

    def keep_upload(self, upload_id: str, image) -> None:
        self.uploads[upload_id] = image
        while len(self.uploads) > KEEP_UPLOADS:
            self.uploads.popitem(last=False)

    def image(self, run: ExploredRun, ref: ImageRef) -> torch.Tensor:
        """The referenced image as ``run``'s model takes it: ``uint8 [1, C, H, W]``."""
        if ref.test is not None:
            return run.test_image(ref.test)
        image = self.uploads.get(ref.upload)
        if image is None:
            raise RequestError("that upload is no longer here; drop the image again")
        return fit_image(image, tuple(run.lm.data_info.shape))

    # -- requests -------------------------------------------------------------
    def prepare(self, request: Request) -> Callable[[Progress], dict]:
        """Check ``request`` now (one-line errors) and return the work that answers it."""
        run = self.run(request.run)
        handler = _HANDLERS[type(request)]
        return handler(self, run, request)


def _sample(explorer: Explorer, run: ExploredRun, r: SampleRequest):
    _refuse(run.sampling_refusal)
    run.check_sample(sampler=r.sampler, label=r.label, **r.options)

    def work(progress: Progress) -> dict:
        images = run.sample(r.n, r.seed, sampler=r.sampler, label=r.label, progress=progress, **r.options)
        return {"images": png_data_urls(images), "seed": r.seed, "n": r.n}

    return work


def _interpolate(explorer: Explorer, run: ExploredRun, r: InterpolateRequest):
    _refuse(run.latent_refusal)

    def work(progress: Progress) -> dict:
        if r.samples is not None:
            s = r.samples
            z = run.sample_latents(s.n, s.seed, s.temperature)
            z0, z1, note = z[s.first], z[s.second], f"between samples {s.first + 1} and {s.second + 1}"
        else:
            z0, z1, note = run.class_ends(r.classes.first, r.classes.second, r.classes.seed)
        images = run.interpolate(z0, z1, r.steps, r.method)
        return {"images": png_data_urls(images), "note": f"{r.method}, {note}"}

    return work


def _directions(explorer: Explorer, run: ExploredRun, r: DirectionsRequest):
    _refuse(run.directions_refusal())

    def work(progress: Progress) -> dict:
        d = run.directions(progress)
        return {
            "count": d.count,
            "directions": [{"sigma": float(s), "share": float(v)} for s, v in zip(d.sigmas, d.shares)],
        }

    return work


def _move(explorer: Explorer, run: ExploredRun, r: MoveRequest):
    _refuse(run.latent_refusal)
    if r.offsets or r.base.mean:
        _refuse(run.directions_refusal())
    base_of = _base(explorer, run, r.base)

    def work(progress: Progress) -> dict:
        base, note = base_of()
        image = run.move(base, list(r.offsets))
        return {"image": png_data_url(image[0]), "base": note}

    return work


def _base(explorer: Explorer, run: ExploredRun, base: Base):
    """A function giving the sliders' starting code and a note saying what it is."""
    if base.image is not None:
        _refuse(run.encoder_refusal())
        x = explorer.image(run, base.image)
        what = f"test image {base.image.test}" if base.image.test is not None else "the dropped image"
        return lambda: (run.encode(x), f"the code of {what}")
    if base.sample is not None:
        s = base.sample
        return lambda: (run.sample_latents(s.n, s.seed, s.temperature)[s.index], f"sample {s.index + 1}")
    if base.point is not None:
        p = base.point
        _refuse(run.manifold_refusal)
        return lambda: (run.manifold_point(p.x, p.y, p.side), f"the manifold at ({p.x:.2f}, {p.y:.2f})")
    return lambda: (run.directions().mean, "the mean code of the test images")


def _manifold(explorer: Explorer, run: ExploredRun, r: ManifoldRequest):
    _refuse(run.manifold_refusal)

    def work(progress: Progress) -> dict:
        from ..plots import tile

        images = run.manifold(r.side)
        grid = torch.from_numpy(tile(images, nrow=r.side, pad=0))
        grid = grid.unsqueeze(0) if grid.dim() == 2 else grid.permute(2, 0, 1)
        return {"image": png_data_url(grid), "side": r.side}

    return work


def _score(explorer: Explorer, run: ExploredRun, r: ScoreRequest):
    _refuse(run.likelihood_refusal())
    x = explorer.image(run, r.image)

    def work(progress: Progress) -> dict:
        values = run.histogram(progress)
        value = run.score(x)
        below = float((values < value).float().mean())
        label = run.unit.replace("_", " ")
        title = f"{run.lm.name}: {label} of {values.numel()} test images, K = {run.likelihood_samples}"
        png = histogram_png(values.numpy(), value, label, title)
        return {
            "value": value,
            "unit": run.unit,
            "below": below,
            "count": int(values.numel()),
            "mean": float(values.mean()),
            "histogram": bytes_data_url(png),
            "image": png_data_url(x[0].float() / 255),
        }

    return work


def _complete(explorer: Explorer, run: ExploredRun, r: CompleteRequest):
    _refuse(run.completion_refusal())
    x = explorer.image(run, r.image)

    def work(progress: Progress) -> dict:
        observed, completions = run.complete(x, r.k, r.seed)
        return {
            "observed": png_data_url(observed[0]),
            "completions": png_data_urls(completions),
            "truth": png_data_url(x[0].float() / 255),
        }

    return work


def _test_images(explorer: Explorer, run: ExploredRun, r: TestImagesRequest):
    _refuse(run.test_problem)

    def work(progress: Progress) -> dict:
        indices, labels = run.test_choice(r.n, r.seed)
        images = [png_data_url(run.test_image(i)[0].float() / 255) for i in indices]
        return {"images": [{"index": i, "label": y, "src": s} for i, y, s in zip(indices, labels, images)]}

    return work


def _refuse(refusal: str | None) -> None:
    if refusal:
        raise GenkitError(refusal)


_HANDLERS = {
    SampleRequest: _sample,
    InterpolateRequest: _interpolate,
    DirectionsRequest: _directions,
    MoveRequest: _move,
    ManifoldRequest: _manifold,
    ScoreRequest: _score,
    CompleteRequest: _complete,
    TestImagesRequest: _test_images,
}
