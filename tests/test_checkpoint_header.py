"""A safetensors header whose length ends in byte 0x80 is not mistaken for a pickle."""

import json

import pytest

from genkit.checkpoint import _reject_foreign_formats
from genkit.errors import CheckpointError


def test_header_length_with_pickle_like_first_byte(tmp_path):
    header = json.dumps({"__metadata__": {"x": "y"}}).encode()
    header += b" " * (0x3380 - len(header))  # length 0x3380: first file byte 0x80, like pickle's PROTO
    path = tmp_path / "ok.safetensors"
    path.write_bytes(len(header).to_bytes(8, "little") + header)
    _reject_foreign_formats(path)  # no error
    pickled = tmp_path / "model.pt"
    pickled.write_bytes(b"\x80\x04\x95" + b"\x00" * 32)
    with pytest.raises(CheckpointError, match="pickle"):
        _reject_foreign_formats(pickled)
