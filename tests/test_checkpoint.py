"""Checkpoints: round trips, and a clear error for every kind of bad file."""

import pickle

import pytest
import torch
from safetensors.torch import save_file

from genkit.checkpoint import load_checkpoint, optimizer_from_flat, optimizer_to_flat, save_checkpoint
from genkit.errors import CheckpointError


def test_round_trip_keeps_tensors_and_metadata(tmp_path):
    tensors = {"model/w": torch.randn(3, 4), "state/rng/cpu": torch.get_rng_state()}
    path = save_checkpoint(tmp_path / "c.safetensors", tensors, {"model": "m", "epoch": 3, "nested": {"a": [1, 2]}})
    ckpt = load_checkpoint(path)
    assert torch.equal(ckpt.tensors["model/w"], tensors["model/w"])
    assert ckpt.meta["epoch"] == 3 and ckpt.meta["nested"] == {"a": [1, 2]}
    assert ckpt.group("model").keys() == {"w"}
    assert not list(tmp_path.glob("*.tmp"))  # the atomic write leaves no temporary file


def test_optimizer_state_round_trip_continues_identically():
    torch.manual_seed(0)
    net = torch.nn.Linear(4, 2)
    opt = torch.optim.Adam(net.parameters(), lr=0.01, betas=(0.5, 0.9))
    for _ in range(3):
        opt.zero_grad()
        net(torch.randn(8, 4)).pow(2).sum().backward()
        opt.step()
    flat, meta = optimizer_to_flat(opt, "optim/model")
    twin = torch.nn.Linear(4, 2)
    twin.load_state_dict(net.state_dict())
    opt2 = torch.optim.Adam(twin.parameters(), lr=1.0)
    # Clone: the flat tensors alias the live state, as a file round trip would not.
    optimizer_from_flat(opt2, {k.split("optim/model/", 1)[1]: v.clone() for k, v in flat.items()}, meta)
    assert opt2.param_groups[0]["betas"] == (0.5, 0.9) and opt2.param_groups[0]["lr"] == 0.01
    x = torch.randn(8, 4)
    for o, n in ((opt, net), (opt2, twin)):
        o.zero_grad()
        n(x).pow(2).sum().backward()
        o.step()
    assert torch.equal(net.weight, twin.weight)


@pytest.fixture
def good(tmp_path):
    return save_checkpoint(tmp_path / "good.safetensors", {"model/w": torch.randn(100, 100)}, {"model": "m"})


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint at"):
        load_checkpoint(tmp_path / "nope.safetensors")


def test_truncated_file(good, tmp_path):
    bad = tmp_path / "cut.safetensors"
    bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="truncated|corrupt"):
        load_checkpoint(bad)


def test_corrupt_header(good, tmp_path):
    data = bytearray(good.read_bytes())
    data[10:40] = b"\xff" * 30
    bad = tmp_path / "corrupt.safetensors"
    bad.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="corrupt|truncated"):
        load_checkpoint(bad)


def test_pickle_renamed_to_safetensors_is_refused_without_unpickling(tmp_path):
    class Boom:
        def __reduce__(self):
            return (exec, ("raise SystemExit('unpickled!')",))

    bad = tmp_path / "evil.safetensors"
    bad.write_bytes(pickle.dumps(Boom()))
    with pytest.raises(CheckpointError, match="pickle"):
        load_checkpoint(bad)
    torch_file = tmp_path / "torch.safetensors"
    torch.save({"w": torch.randn(2)}, torch_file)
    with pytest.raises(CheckpointError, match="pickle or torch.save"):
        load_checkpoint(torch_file)


def test_foreign_safetensors_file(tmp_path):
    path = tmp_path / "foreign.safetensors"
    save_file({"w": torch.randn(2)}, str(path), metadata={"format": "pt"})
    with pytest.raises(CheckpointError, match="not a genkit checkpoint"):
        load_checkpoint(path)


def test_tiny_and_empty_files(tmp_path):
    empty = tmp_path / "empty.safetensors"
    empty.write_bytes(b"")
    with pytest.raises(CheckpointError, match="truncated"):
        load_checkpoint(empty)
