"""Datasets as in-memory uint8 tensors, and the loaders of the built-in MNIST-style ones."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import torch

from ..model import DataInfo
from ..spec import DatasetSpec  # noqa: F401  (its home is genkit.spec; kept importable from here)
from . import sources
from .idx import read_idx


@dataclass
class ImageDataset:
    """A whole dataset held as tensors: images ``uint8 [N, C, H, W]``, labels ``int64 [N]``."""

    name: str
    train_x: torch.Tensor
    test_x: torch.Tensor
    train_y: torch.Tensor | None = None
    test_y: torch.Tensor | None = None
    num_classes: int | None = None
    source: str = ""
    #: Set when genkit fell back to a subset shipped in the package.
    embedded: bool = False
    class_names: list[str] = field(default_factory=list)

    @property
    def info(self) -> DataInfo:
        return DataInfo(name=self.name, shape=tuple(self.train_x.shape[1:]), num_classes=self.num_classes)

    def to(self, device: torch.device) -> ImageDataset:
        move = lambda t: None if t is None else t.to(device)  # noqa: E731
        return replace(
            self,
            train_x=move(self.train_x),
            test_x=move(self.test_x),
            train_y=move(self.train_y),
            test_y=move(self.test_y),
        )


@dataclass
class Split:
    """The training and validation parts of a dataset's train split, on the device."""

    train_x: torch.Tensor
    train_y: torch.Tensor | None
    val_x: torch.Tensor
    val_y: torch.Tensor | None


def split_validation(data: ImageDataset, val_size: int, seed: int = 20_141_220, limit: int | None = None) -> Split:
    """Hold out ``val_size`` training images (at most a sixth), the same ones for every run seed.

    ``limit`` keeps only the first ``limit`` (in file order) of the images left to train on;
    the validation images stay the same for any limit.
    """
    n = data.train_x.shape[0]
    val_size = min(val_size, n // 6)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).to(data.train_x.device)
    val, train = order[:val_size], order[val_size:]
    if limit is not None:
        train = train.sort().values[:limit]
    pick = lambda t, i: None if t is None else t[i]  # noqa: E731
    return Split(data.train_x[train], pick(data.train_y, train), data.train_x[val], pick(data.train_y, val))


_IDX_FILES = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
]

FASHION_CLASSES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]


def idx_dataset(
    name: str, folder: str, torchvision_class: str, embedded: bool, class_names: list[str]
) -> Callable[[str | None, str | None], ImageDataset]:
    """A loader for a 28x28 grayscale, 10-class dataset in torchvision's IDX layout."""

    def load(data_dir: str | None, arg: str | None = None) -> ImageDataset:
        root, source = sources.locate(data_dir, folder, _IDX_FILES, torchvision_class, embedded)
        read = lambda f: read_idx(sources.raw_path(root, folder, f))  # noqa: E731
        return ImageDataset(
            name=name,
            train_x=read(_IDX_FILES[0]).unsqueeze(1),
            train_y=read(_IDX_FILES[1]).long(),
            test_x=read(_IDX_FILES[2]).unsqueeze(1),
            test_y=read(_IDX_FILES[3]).long(),
            num_classes=10,
            source=source,
            embedded=root == sources.EMBEDDED_ROOT,
            class_names=class_names,
        )

    return load


load_mnist = idx_dataset("mnist", "MNIST", "MNIST", True, [str(i) for i in range(10)])
load_fashion_mnist = idx_dataset("fashion-mnist", "FashionMNIST", "FashionMNIST", False, FASHION_CLASSES)
