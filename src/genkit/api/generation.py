"""``genkit.sample``, ``genkit.interpolate`` and ``genkit.manifold``: pictures from a trained model."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .. import plots
from ..capabilities import EncoderModel
from ..drawing import drawing
from ..errors import CapabilityError, GenkitError
from ..files import WriteError
from ..metrics import find_classifier
from ..model import Batch
from ..sampling import check_decodable, decode, latent_grid, start_noise
from ..sampling import interpolate as interpolate_latents
from ..training.state import check_data_shape
from .loading import LoadedModel, load

#: Prior draws the classifier sorts into classes when interpolation picks its two ends.
CANDIDATES = 256


@dataclass
class Picture:
    """Images a command made, the PNG it wrote, and what the user should know about them."""

    images: torch.Tensor
    path: Path
    #: Lines about how the picture was made where it is not what was asked (two ends of one class).
    notes: list[str] = field(default_factory=list)


def _written(save: Callable[[], Path], out) -> Path:
    """``save()``; a picture that cannot go into the run directory (read-only, full) says where else it can go."""
    try:
        return save()
    except WriteError as exc:
        if out is not None:
            raise
        raise WriteError(exc.path, f"{exc.reason}; write the picture elsewhere with --out FILE") from None


def _loaded(target, device) -> LoadedModel:
    return target if isinstance(target, LoadedModel) else load(target, device)


def draw_samples(
    target,
    n: int = 25,
    *,
    temperature: float | None = None,
    steps: int | None = None,
    guidance: float | None = None,
    seed: int = 0,
    label: int | None = None,
    sampler: str | None = None,
    device: str = "auto",
    progress: Callable[[int, int], None] | None = None,
) -> torch.Tensor:
    """``n`` samples ``[n, C, H, W]`` in [0, 1], drawn as :func:`sample` draws them, without writing anything."""
    lm = _loaded(target, device)
    if n < 1:
        raise GenkitError("-n must be at least 1")
    options = {"temperature": temperature, "steps": steps, "guidance": guidance}
    draw = drawing(lm.model, model_name=lm.name, sampler=sampler, options=options)
    generator = torch.Generator(device=lm.device).manual_seed(seed)
    return draw(n, label=label, generator=generator, progress=progress)


def sample(
    target,
    n: int = 25,
    *,
    temperature: float | None = None,
    steps: int | None = None,
    guidance: float | None = None,
    seed: int = 0,
    label: int | None = None,
    sampler: str | None = None,
    out: str | Path | None = None,
    device: str = "auto",
    progress: Callable[[int, int], None] | None = None,
) -> Picture:
    """Draw ``n`` samples and save them as a grid (``RUN/samples.png`` by default).

    Args:
        sampler: a registered sampler (default: the model's own, ``prior`` for a latent model).
        temperature, steps, guidance: options for samplers that take them (None: the sampler's default);
            one a sampler does not take is refused.
        label: the class to draw, for a label-conditional model (default: every class in turn).
        progress: ``progress(done, total)`` for samplers that take steps.
    """
    lm = _loaded(target, device)
    options = {"temperature": temperature, "steps": steps, "guidance": guidance}
    images = draw_samples(lm, n, seed=seed, label=label, sampler=sampler, progress=progress, **options)
    path = Path(out) if out else lm.run.file("samples.png")
    nrow = lm.data_info.num_classes if (lm.model.conditioning == "label" and label is None) else None
    shown = ", ".join(f"{k}={v:g}" for k, v in options.items() if v is not None)
    title = (
        f"{lm.name}: {n} samples" + (f", {shown}" if shown else "") + (f", label {label}" if label is not None else "")
    )
    return Picture(images, _written(lambda: plots.save_grid(images, path, title=title, nrow=nrow), out))


def interpolate(
    target,
    steps: int = 7,
    *,
    method: str = "both",
    from_class: int | None = None,
    to_class: int | None = None,
    seed: int = 0,
    out: str | Path | None = None,
    device: str = "auto",
    data_dir: str | None = None,
) -> Picture:
    """Decode a path between two latent points (``steps`` between the two ends).

    A model with an encoder interpolates between two test images of different
    classes; otherwise between prior draws, which a registered classifier for the
    dataset (such as the judge) picks to be of different classes. Where no two classes
    can be told apart (no classifier, or it sees one class only), the picture's
    ``notes`` say so.
    """
    lm = _loaded(target, device)
    check_interpolation(lm)
    if steps < 1:
        raise GenkitError("--steps must be at least 1")
    z0, z1, between, notes = interpolation_ends(lm, from_class, to_class, seed, data_dir)
    methods = ["linear", "spherical"] if method == "both" else [method]
    rows = [interpolation_path(lm, z0, z1, steps, m) for m in methods]
    path = Path(out) if out else lm.run.file("interpolation.png")
    _written(lambda: plots.save_rows(rows, path, labels=methods, title=f"{lm.name}: interpolation {between}"), out)
    return Picture(torch.stack(rows), path, notes)


def check_interpolation(lm: LoadedModel) -> None:
    """Refuse, in one line, a model whose latent space cannot be walked (none, or conditional)."""
    check_decodable(lm.model, "interpolation", lm.name)


def interpolation_path(lm: LoadedModel, z0: torch.Tensor, z1: torch.Tensor, steps: int, method: str) -> torch.Tensor:
    """The decoded path from latent ``z0`` to ``z1``: ``steps`` images between the two ends, ends included."""
    return decode(lm.model, interpolate_latents(z0, z1, steps + 2, method), what="interpolation", model_name=lm.name)


def interpolation_ends(
    lm: LoadedModel,
    from_class,
    to_class,
    seed: int,
    data_dir: str | None,
    test: tuple[torch.Tensor, torch.Tensor] | None = None,
):
    """Two latent points, a caption saying what they are, and notes: the codes of two test images
    of different classes for a model with an encoder (from ``test``, labelled images, if given,
    else the run's test split), else prior draws a registered classifier judged to differ, else
    two prior draws (and a note that they may be of one class)."""
    model, dataset = lm.model, lm.meta["data"]["name"]
    if isinstance(model, EncoderModel) and lm.data_info.num_classes:
        if test is None:
            try:
                from ..data import load_dataset

                data = load_dataset(dataset, data_dir or lm.train_config.data_dir)
                test = (data.test_x, data.test_y) if data.test_y is not None else None
            except GenkitError:
                test = None
        if test is not None:
            test_x, test_y = test
            check_data_shape(lm.meta, test_x.shape[1:], dataset, lm.checkpoint)
            a, b = _two_classes(test_y, from_class, to_class)
            ia = int((test_y == a).nonzero()[0])
            ib = int((test_y == b).nonzero()[0])
            raw = Batch(x=test_x[[ia, ib]].to(lm.device), y=test_y[[ia, ib]].to(lm.device))
            gen = torch.Generator(device=lm.device).manual_seed(seed)
            with torch.no_grad():
                z = model.encode(model.prepare_batch(raw, generator=gen))
            return z[0], z[1], f"between test images of class {a} and {b}", []
    gen = torch.Generator(device=lm.device).manual_seed(seed)
    classifier = find_classifier(dataset)
    if classifier is None:
        if from_class is not None or to_class is not None:
            raise CapabilityError(
                f"--from-class/--to-class need an encoder or a classifier for {dataset} (such as the judge's: "
                f"genkit judge train --dataset {dataset})"
            )
        z = start_noise(model, 2, gen)
        note = (
            f"no classifier for {dataset} is installed or trained (such as the judge's: genkit judge train "
            f"--dataset {dataset}), so the two ends are prior draws that may be of the same class"
        )
        return z[0], z[1], "between two prior draws", [note]
    z = start_noise(model, CANDIDATES, gen)
    labels = classifier.classify(decode(model, z, what="interpolation", model_name=lm.name), dataset)
    if from_class is None and to_class is None and labels.unique().numel() < 2:
        seen = int(labels[0])
        note = (
            f"the classifier judged all {CANDIDATES} prior draws to be of class {seen}, so the two ends are of the "
            "same class (try another --seed)"
        )
        return z[0], z[1], f"between two samples judged class {seen}", [note]
    a, b = _two_classes(labels, from_class, to_class)
    ia, ib = (labels == a).nonzero(), (labels == b).nonzero()
    if len(ia) == 0 or len(ib) == 0:
        raise CapabilityError(
            f"no prior sample of class {a if len(ia) == 0 else b} among {CANDIDATES} draws; try another --seed or class"
        )
    return z[int(ia[0])], z[int(ib[0])], f"between samples judged class {a} and {b}", []


def _two_classes(labels: torch.Tensor, from_class, to_class) -> tuple[int, int]:
    present = [int(c) for c in labels.unique().tolist()]
    a = from_class if from_class is not None else int(labels[0])
    if to_class is not None:
        b = to_class
    else:
        others = [int(c) for c in labels.tolist() if int(c) != a]
        if not others:
            raise CapabilityError(f"every candidate is of class {a}; cannot pick a different class to go to")
        b = others[0]
    for c in (a, b):
        if c not in present:
            raise CapabilityError(f"class {c} does not occur (classes seen: {present})")
    if a == b:
        raise CapabilityError("--from-class and --to-class must differ")
    return a, b


def check_manifold(lm: LoadedModel) -> None:
    """Refuse, in one line, a model whose latent space is not a 2-D one that decodes without a condition."""
    check_decodable(lm.model, "the manifold", lm.name)
    size = math.prod(lm.model.latent_shape)
    if size != 2:
        raise CapabilityError(
            f"the manifold is a picture of a 2-D latent space, and this model's latent has {size} dimensions; "
            f"train one with a 2-D latent (for example --set model.latent_dim=2)"
        )


def manifold_images(lm: LoadedModel, side: int) -> torch.Tensor:
    """``side * side`` images decoded from :func:`genkit.sampling.latent_grid`, row by row from the top left."""
    check_manifold(lm)
    z = latent_grid(side, tuple(lm.model.latent_shape)).to(lm.device)
    return decode(lm.model, z, what="the manifold", model_name=lm.name)


def manifold(target, side: int = 20, *, out: str | Path | None = None, device: str = "auto") -> Picture:
    """Decode a ``side`` x ``side`` grid over a 2-D latent space, placed by the normal's inverse CDF."""
    lm = _loaded(target, device)
    images = manifold_images(lm, side)
    path = Path(out) if out else lm.run.file("manifold.png")
    return Picture(
        images,
        _written(
            lambda: plots.save_grid(images, path, title=f"{lm.name}: 2-D latent manifold ({side}x{side})", nrow=side),
            out,
        ),
    )
