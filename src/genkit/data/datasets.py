"""Datasets as in-memory uint8 tensors, and the loaders of the built-in MNIST-style ones."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import torch

from ..errors import DataError
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
        paths = [sources.raw_path(root, folder, f) for f in _IDX_FILES]
        train_x, test_x = (_idx_images(paths[i], name) for i in (0, 2))
        train_y, test_y = (
            _idx_labels(paths[i + 1], x.shape[0], paths[i], name) for i, x in ((0, train_x), (2, test_x))
        )
        return ImageDataset(
            name=name,
            train_x=train_x.unsqueeze(1),
            train_y=train_y,
            test_x=test_x.unsqueeze(1),
            test_y=test_y,
            num_classes=10,
            source=source,
            embedded=root == sources.EMBEDDED_ROOT,
            class_names=class_names,
        )

    return load


#: The image size of the MNIST-style datasets read from IDX files.
IDX_IMAGE_SHAPE = (28, 28)
IDX_CLASSES = 10


def _idx_images(path, name: str) -> torch.Tensor:
    """The images of an IDX file, refused in one line unless they are what ``name`` holds:
    a non-empty ``uint8 [N, 28, 28]`` array (not floats, not 32x32 images)."""
    images = read_idx(path)
    if images.dtype != torch.uint8:
        raise DataError(f"{path} holds {images.dtype} values; {name} images are uint8 (is this the right file?)")
    if images.dim() != 3 or tuple(images.shape[1:]) != IDX_IMAGE_SHAPE:
        raise DataError(
            f"{path} holds an array of shape {list(images.shape)}; {name} images are [N, 28, 28] (is this the right "
            "file?)"
        )
    if images.shape[0] == 0:
        raise DataError(f"{path} holds no images")
    return images


def _idx_labels(path, count: int, images_path, name: str) -> torch.Tensor:
    """The labels of an IDX file, refused unless they are one uint8 class (0-9) per image of ``images_path``."""
    labels = read_idx(path)
    if labels.dtype != torch.uint8 or labels.dim() != 1:
        raise DataError(
            f"{path} holds {labels.dtype} values of shape {list(labels.shape)}; {name} labels are uint8 [N]"
        )
    if labels.shape[0] != count:
        raise DataError(
            f"{path} holds {labels.shape[0]} labels for the {count} images of {images_path}: images and labels would "
            "be misaligned"
        )
    if count and int(labels.max()) >= IDX_CLASSES:
        raise DataError(f"{path} holds label {int(labels.max())}; {name} has classes 0 to {IDX_CLASSES - 1}")
    return labels.long()


load_mnist = idx_dataset("mnist", "MNIST", "MNIST", True, [str(i) for i in range(10)])
load_fashion_mnist = idx_dataset("fashion-mnist", "FashionMNIST", "FashionMNIST", False, FASHION_CLASSES)
