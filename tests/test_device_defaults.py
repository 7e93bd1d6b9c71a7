"""Defaults that could change results silently: TF32 is opt-in and its process-wide flags
are restored after training; MPS is refused with one line rather than half supported."""

import pytest
import torch

import genkit
from genkit.device import resolve_device
from genkit.errors import DeviceError
from genkit.training.precision import tf32_enabled


def test_tf32_is_off_by_default():
    assert genkit.TrainConfig().tf32 is False


def test_tf32_flags_are_restored_after_the_block_even_on_error():
    cuda = torch.device("cuda")  # the flags are plain settings: no GPU is needed to set them
    before = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    try:
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
        with pytest.raises(RuntimeError):
            with tf32_enabled(cuda, True):
                assert torch.backends.cuda.matmul.allow_tf32 and torch.backends.cudnn.allow_tf32
                raise RuntimeError("boom")
        assert not torch.backends.cuda.matmul.allow_tf32 and not torch.backends.cudnn.allow_tf32
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = before


def test_training_leaves_the_tf32_flags_as_it_found_them(tiny, quiet, tmp_path):
    before = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    genkit.train(
        "vae",
        overrides={
            "train.dataset": tiny,
            "train.epochs": 1,
            "train.val_size": 32,
            "model.hidden": 16,
            "train.tf32": True,
        },
        reporter=quiet,
        out=tmp_path / "r",
    )
    assert (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32) == before


def test_mps_is_refused_in_one_line_and_auto_never_picks_it(monkeypatch):
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")
    with pytest.raises(DeviceError, match="'mps' is not supported.*--device cpu") as info:
        resolve_device("mps")
    assert "\n" not in str(info.value)
