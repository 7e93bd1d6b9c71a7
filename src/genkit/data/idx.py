"""Reading the IDX format of MNIST-style datasets (plain or gzip)."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import torch

from ..errors import DataError

_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | Path) -> torch.Tensor:
    """The array stored in an IDX file, as a tensor (uint8 for images and labels).

    The data are decompressed straight into the array the tensor shares: no whole-file bytes
    object and no second copy, which for MNIST's 47 MB of training images were two more copies
    at the peak of a process's memory.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            magic = f.read(4)
            if len(magic) < 4 or magic[0] != 0 or magic[1] != 0 or magic[2] not in _DTYPES:
                raise DataError(f"{path} is not an IDX file")
            dims = f.read(4 * magic[3])
            if len(dims) < 4 * magic[3]:
                raise DataError(f"{path} is truncated or corrupt: its header ends early")
            shape = tuple(int.from_bytes(dims[i : i + 4], "big") for i in range(0, len(dims), 4))
            array = np.empty(shape, dtype=np.dtype(_DTYPES[magic[2]]))
            found = _read_into(f, memoryview(array.reshape(-1).view(np.uint8)))
            found += len(f.read())  # anything after the data is as wrong as too little
    except (OSError, EOFError) as exc:
        raise DataError(f"cannot read {path}: {exc}") from None
    if found != array.nbytes:
        raise DataError(f"{path} is truncated or corrupt: expected {array.nbytes} bytes of data, found {found}")
    if not array.dtype.isnative:
        array = array.byteswap().view(array.dtype.newbyteorder("="))
    return torch.from_numpy(array)


def _read_into(f, buffer: memoryview) -> int:
    """Fill ``buffer`` from ``f``; the bytes read (fewer only where the file ends early)."""
    done = 0
    while done < len(buffer):
        n = f.readinto(buffer[done:])
        if not n:
            break
        done += n
    return done
