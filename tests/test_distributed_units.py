"""Pieces of data-parallel training that need no second process."""

from __future__ import annotations

import pytest
import torch

from genkit.errors import DeviceError
from genkit.launch import torchrun_command, without_nproc
from genkit.training import distributed as ddp
from genkit.training.checks import steps_per_epoch
from genkit.training.distributed import DistContext
from genkit.training.state import strip_wrapper_prefixes


def test_rank_bounds_cover_the_global_batch_once_like_tensor_split():
    for start, end, world in [(0, 10, 3), (20, 22, 3), (5, 5, 2), (0, 64, 4)]:
        bounds = [ddp.rank_bounds(start, end, DistContext(rank=r, world_size=world)) for r in range(world)]
        expected = torch.tensor_split(torch.arange(start, end), world)
        assert [list(range(lo, hi)) for lo, hi in bounds] == [e.tolist() for e in expected]
    assert ddp.rank_bounds(3, 9, ddp.SINGLE) == (3, 9)


def test_loss_weights_make_the_rank_average_the_global_mean():
    ctx = lambda r: DistContext(rank=r, world_size=3)  # noqa: E731
    sizes = [4, 3, 3]
    assert [ddp.loss_weight(n, 10, ctx(r)) for r, n in enumerate(sizes)] == [1.2, 0.9, 0.9]
    # mean over ranks of (weight * rank mean) == global mean
    values = torch.arange(10.0)
    parts = torch.tensor_split(values, 3)
    averaged = sum(ddp.loss_weight(len(p), 10, ctx(r)) * p.mean() for r, p in enumerate(parts)) / 3
    assert torch.isclose(averaged, values.mean())
    assert ddp.loss_weight(5, 10, DistContext(rank=0, world_size=2)) == 1.0


def test_a_last_batch_of_fewer_than_two_images_per_rank_joins_the_one_before():
    assert steps_per_epoch(129, 64, 1) == 2  # a last batch of one image joins the one before it
    assert steps_per_epoch(130, 64, 1) == 3
    assert steps_per_epoch(129, 64, 2) == 2  # 1 image cannot feed 2 ranks
    assert steps_per_epoch(131, 64, 2) == 2  # nor 3 images two each
    assert steps_per_epoch(132, 64, 2) == 3
    assert steps_per_epoch(128, 64, 4) == 2
    assert steps_per_epoch(1, 64, 1) == 1


def test_rank_seeds_differ_and_rank_zero_keeps_the_run_seed():
    seeds = [DistContext(rank=r, world_size=4).rank_seed(7) for r in range(4)]
    assert seeds[0] == 7 and len(set(seeds)) == 4


def test_single_process_collectives_are_identities():
    t = torch.tensor([1.0, 2.0])
    assert ddp.SINGLE.all_reduce_sum(t) is t
    assert ddp.SINGLE.any_rank(True, torch.device("cpu")) and not ddp.SINGLE.any_rank(False, torch.device("cpu"))
    assert ddp.SINGLE.broadcast_object({"a": 1}) == {"a": 1}
    assert ddp.SINGLE.gather_objects(3) == [3]
    assert ddp.SINGLE.on_main(lambda: 5) == 5
    with ddp.SINGLE.local_first():
        pass


def test_setup_without_torchrun_is_one_process(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    ctx, device = ddp.setup("cpu", lambda spec: torch.device(spec))
    assert ctx is ddp.SINGLE and device == torch.device("cpu")


@pytest.mark.parametrize(
    "spec, message", [("mps", "MPS has no collective backend"), ("cuda:1", "every rank on one GPU")]
)
def test_setup_refuses_devices_that_cannot_be_shared_by_ranks(monkeypatch, spec, message):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("LOCAL_RANK", "1")
    with pytest.raises(DeviceError, match=message):
        ddp.setup(spec, lambda s: torch.device(s))


def test_wrapper_prefixes_are_stripped_only_when_they_are_not_the_model_s_own():
    w = {"module.enc.weight": 1, "module.enc.bias": 2}
    assert strip_wrapper_prefixes(w, {"enc.weight", "enc.bias"}) == {"enc.weight": 1, "enc.bias": 2}
    assert strip_wrapper_prefixes({"module._orig_mod.a": 1}, {"a"}) == {"a": 1}
    own = {"module.x": 1}
    assert strip_wrapper_prefixes(own, {"module.x"}) == own


def test_a_ddp_checkpoint_with_prefixed_keys_loads_into_the_plain_model(tiny, quiet, tmp_path):
    import genkit
    from genkit.checkpoint import load_checkpoint, save_checkpoint

    run = genkit.train(
        "vae",
        overrides={"train.dataset": tiny, "train.epochs": 1, "train.device": "cpu"},
        sets=["model.hidden=16"],
        out=tmp_path / "r",
        reporter=quiet,
    )
    path = run.run.last_checkpoint
    ckpt = load_checkpoint(path)
    renamed = {
        (k.replace("model/", "model/module.", 1) if k.startswith("model/") else k): v for k, v in ckpt.tensors.items()
    }
    save_checkpoint(path, renamed, ckpt.meta)
    loaded = genkit.load(path, device="cpu")
    assert torch.equal(loaded.model.state_dict()["encoder.0.weight"], ckpt.tensors["model/encoder.0.weight"])


def test_nproc_relaunches_the_same_command_under_torchrun():
    argv = ["train", "vae", "--nproc", "2", "--epochs", "1", "--nproc=3"]
    assert without_nproc(argv) == ["train", "vae", "--epochs", "1"]
    cmd = torchrun_command(2, argv)
    assert cmd[1:] == [
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc-per-node",
        "2",
        "-m",
        "genkit",
        "train",
        "vae",
        "--epochs",
        "1",
    ]


def test_a_set_value_is_not_hidden_by_an_unset_flag():
    from genkit.api.training import resolve_config

    _, _, cfg = resolve_config("vae", overrides={"train.lr": None, "train.epochs": 2}, sets=["train.lr=0.003"])
    assert (cfg.lr, cfg.epochs) == (0.003, 2)
