"""``genkit.sample``, ``genkit.interpolate`` and ``genkit.manifold``: pictures from a trained model."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from .. import plots
from ..capabilities import EncoderModel, LatentModel
from ..drawing import draw
from ..errors import CapabilityError, GenkitError
from ..files import WriteError
from ..maths import cycled_labels
from ..model import Batch
from ..plugins import find_classifier
from ..sampling import interpolate as interpolate_latents
from ..sampling import latent_grid, prior_latents, require_latent
from ..training.state import check_data_shape
from .loading import LoadedModel, load


@dataclass
class Picture:
    """Images a command made and the PNG it wrote."""

    images: torch.Tensor
    path: Path


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


def sample_condition(lm: LoadedModel, n: int, label: int | None) -> torch.Tensor | None:
    """Labels for a label-conditional model: the one asked for, or every class in turn; a label
    for a model that takes none, or out of range, is refused in one line."""
    kind = lm.model.conditioning
    if label is not None and kind != "label":
        raise CapabilityError(f"'{lm.name}' takes no class label; --label applies only to label-conditional models")
    if kind != "label":
        return None
    classes = lm.data_info.num_classes or 1
    if label is not None and not 0 <= label < classes:
        raise CapabilityError(f"--label {label} is out of range: this model knows classes 0 to {classes - 1}")
    labels = torch.full((n,), label) if label is not None else cycled_labels(n, classes)
    return labels.to(lm.device)


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
    condition = sample_condition(lm, n, label)
    if condition is None and lm.model.conditioning not in (None, "label"):
        raise CapabilityError(f"'{lm.name}' needs a '{lm.model.conditioning}' condition to sample; use its own command")
    generator = torch.Generator(device=lm.device).manual_seed(seed)
    options = {"temperature": temperature, "steps": steps, "guidance": guidance}
    return draw(
        lm.model,
        n,
        sampler=sampler,
        condition=condition,
        generator=generator,
        options=options,
        progress=progress,
        model_name=lm.name,
    )


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
    dataset (such as the judge) picks to be of different classes.
    """
    lm = _loaded(target, device)
    check_interpolation(lm)
    if steps < 1:
        raise GenkitError("--steps must be at least 1")
    z0, z1, note = interpolation_ends(lm, from_class, to_class, seed, data_dir)
    methods = ["linear", "spherical"] if method == "both" else [method]
    rows = [interpolation_path(lm, z0, z1, steps, m) for m in methods]
    path = Path(out) if out else lm.run.file("interpolation.png")
    _written(lambda: plots.save_rows(rows, path, labels=methods, title=f"{lm.name}: interpolation {note}"), out)
    return Picture(torch.stack(rows), path)


def check_interpolation(lm: LoadedModel) -> None:
    """Refuse, in one line, a model whose latent space cannot be walked (none, or conditional)."""
    require_latent(lm.model, "interpolation")
    if lm.model.conditioning is not None:
        raise CapabilityError(
            f"'{lm.name}' is conditioned on a {lm.model.conditioning}; interpolating a conditional model is not "
            "supported (use genkit sample --label)"
        )


def interpolation_path(lm: LoadedModel, z0: torch.Tensor, z1: torch.Tensor, steps: int, method: str) -> torch.Tensor:
    """The decoded path from latent ``z0`` to ``z1``: ``steps`` images between the two ends, ends included."""
    with torch.no_grad():
        return lm.model.decode(interpolate_latents(z0, z1, steps + 2, method))


def interpolation_ends(lm: LoadedModel, from_class, to_class, seed: int, data_dir: str | None):
    """Two latent points of different classes, and a note saying what they are: the codes of two
    test images for a model with an encoder, else prior draws a registered classifier tells apart."""
    model = lm.model
    if isinstance(model, EncoderModel) and lm.data_info.num_classes:
        try:
            from ..data import load_dataset

            data = load_dataset(lm.meta["data"]["name"], data_dir or lm.train_config.data_dir)
        except GenkitError:
            data = None
        if data is not None and data.test_y is not None:
            check_data_shape(lm.meta, data.test_x.shape[1:], data.name, lm.checkpoint)
            a, b = _two_classes(data.test_y, from_class, to_class)
            ia = int((data.test_y == a).nonzero()[0])
            ib = int((data.test_y == b).nonzero()[0])
            raw = Batch(x=data.test_x[[ia, ib]].to(lm.device), y=data.test_y[[ia, ib]].to(lm.device))
            gen = torch.Generator(device=lm.device).manual_seed(seed)
            with torch.no_grad():
                z = model.encode(model.prepare_batch(raw, generator=gen))
            return z[0], z[1], f"between test images of class {a} and {b}"
    gen = torch.Generator(device=lm.device).manual_seed(seed)
    classifier = find_classifier(lm.meta["data"]["name"])
    if classifier is None:
        if from_class is not None or to_class is not None:
            raise CapabilityError(
                "--from-class/--to-class need an encoder or a classifier for this dataset (train the judge first)"
            )
        z = prior_latents(model, 2, generator=gen)
        return z[0], z[1], "between two prior draws"
    with torch.no_grad():
        z = prior_latents(model, 256, generator=gen)
        labels = classifier.classify(model.decode(z), lm.meta["data"]["name"])
    a, b = _two_classes(labels, from_class, to_class)
    ia, ib = (labels == a).nonzero(), (labels == b).nonzero()
    if len(ia) == 0 or len(ib) == 0:
        raise CapabilityError(
            f"no prior sample of class {a if len(ia) == 0 else b} among 256 draws; try another --seed or class"
        )
    return z[int(ia[0])], z[int(ib[0])], f"between samples judged class {a} and {b}"


def _two_classes(labels: torch.Tensor, from_class, to_class) -> tuple[int, int]:
    present = [int(c) for c in labels.unique().tolist()]
    a = from_class if from_class is not None else int(labels[0])
    if to_class is not None:
        b = to_class
    else:
        others = [int(c) for c in labels.tolist() if int(c) != a]
        if not others:
            raise CapabilityError("all candidates are of one class; cannot pick two different classes")
        b = others[0]
    for c in (a, b):
        if c not in present:
            raise CapabilityError(f"class {c} does not occur (classes seen: {present})")
    if a == b:
        raise CapabilityError("--from-class and --to-class must differ")
    return a, b


def check_manifold(lm: LoadedModel) -> None:
    """Refuse, in one line, a model whose latent space is not a 2-D one that decodes without a condition."""
    model = lm.model
    if not isinstance(model, LatentModel):
        raise CapabilityError(f"'{lm.name}' has no latent space to draw a manifold of")
    size = math.prod(model.latent_shape)
    if size != 2:
        raise CapabilityError(
            f"the manifold is a picture of a 2-D latent space, and this model's latent has {size} dimensions; "
            f"train one with a 2-D latent (for example --set model.latent_dim=2)"
        )
    if model.conditioning is not None:
        raise CapabilityError("the manifold of a conditional model needs a condition; it is not supported")


def manifold_images(lm: LoadedModel, side: int) -> torch.Tensor:
    """``side * side`` images decoded from :func:`genkit.sampling.latent_grid`, row by row from the top left."""
    check_manifold(lm)
    z = latent_grid(side, tuple(lm.model.latent_shape)).to(lm.device)
    with torch.no_grad():
        return lm.model.decode(z)


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
