"""A dataset made of the first images of another: small runs for tests, benchmarks and notebooks."""

from __future__ import annotations

from .datasets import DatasetSpec, ImageDataset


def register_subset(
    name: str,
    source: str,
    *,
    train: int | None = None,
    test: int | None = None,
    data_dir: str | None = None,
    description: str = "",
) -> str:
    """Register dataset ``name``: the first ``train`` training and ``test`` test images of ``source``.

    ``name:N`` then takes the first N training images instead. None keeps a
    whole split. ``data_dir`` fixes where ``source`` is read from; otherwise
    it is the one the user gives (``--data-dir``, ``GENKIT_DATA_DIR``, ...).
    Returns ``name``, for ``train.dataset``.
    """
    from ..hookspecs import hookimpl
    from ..plugins import register_plugin
    from . import load_dataset

    class Subset:
        @hookimpl
        def register_datasets(self, register):
            def load(given_dir, arg=None):
                full = load_dataset(source, data_dir or given_dir)
                n = int(arg) if arg else train
                ys = lambda y, k: None if y is None else y[:k]  # noqa: E731
                kept = f"first {n} of" if n is not None else "all of"
                return ImageDataset(
                    name=name,
                    train_x=full.train_x[:n],
                    train_y=ys(full.train_y, n),
                    test_x=full.test_x[:test],
                    test_y=ys(full.test_y, test),
                    num_classes=full.num_classes,
                    source=f"{kept} {full.source}",
                )

            register(DatasetSpec(name, load, description or f"the first training images of {source}"))

    register_plugin(Subset(), f"subset-{name}")
    return name
