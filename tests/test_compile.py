"""``train.compile`` runs the objectives through torch.compile: training works, the
checkpoint holds the plain model's names, and the compiled run follows the eager one
(checked on a model with no randomness in its objectives, since compiled code draws
its own random numbers)."""

import shutil
import sys
from pathlib import Path

import pytest

import genkit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ddp_plugins import register_all  # noqa: E402


@pytest.mark.skipif(
    shutil.which("cc") is None and shutil.which("gcc") is None, reason="torch.compile on CPU needs a C compiler"
)
def test_compiled_training_matches_eager_and_saves_plain_names(quiet, tmp_path):
    register_all()
    overrides = {
        "train.dataset": "tiny:256",
        "train.epochs": 1,
        "train.val_size": 32,
        "train.batch_size": 64,
        "train.device": "cpu",
        "train.lr": 3e-3,
    }
    eager = genkit.train("two-player", overrides=overrides, reporter=quiet, out=tmp_path / "eager")
    compiled = genkit.train(
        "two-player", overrides={**overrides, "train.compile": True}, reporter=quiet, out=tmp_path / "compiled"
    )
    from genkit.checkpoint import load_checkpoint

    ckpt = load_checkpoint(compiled.run.last_checkpoint)
    assert ckpt.meta["train_config"]["compile"] is True
    assert not any("_orig_mod" in k for k in ckpt.tensors)
    for term, value in eager.metrics[-1]["train"].items():
        assert compiled.metrics[-1]["train"][term] == pytest.approx(value, rel=1e-3), term
    a = genkit.load(compiled.run.path, "cpu").model.state_dict()
    b = genkit.load(eager.run.path, "cpu").model.state_dict()
    worst = max((a[k] - b[k]).abs().max().item() for k in a)
    assert worst < 1e-4, f"compiled and eager weights differ by up to {worst}"


@pytest.mark.skipif(
    shutil.which("cc") is None and shutil.which("gcc") is None, reason="torch.compile on CPU needs a C compiler"
)
def test_compiled_diffusion_steps_do_not_recompile_as_the_ema_counts(tiny, quiet, tmp_path, monkeypatch):
    """The diffusion EMA keeps a host step count; compiled steps must not see it as a constant of
    the graph (a recompile per step, then eager code): it is updated in after_step, outside
    the compiled objective."""
    import functools

    import torch._dynamo
    from test_diffusion import FAST

    # Recompiles are Dynamo's guards, the same for every backend: the eager backend checks them
    # without minutes of C++ code generation for the U-Net.
    monkeypatch.setattr(torch, "compile", functools.partial(torch.compile, backend="eager"))
    torch._dynamo.reset()
    # config.patch, not monkeypatch: undoing a monkeypatch deletes the setting, which hides it from
    # Dynamo (and every later test) for the rest of the process.
    with torch._dynamo.config.patch(recompile_limit=4, fail_on_recompile_limit_hit=True):
        result = genkit.train(
            "diffusion",
            overrides={"train.dataset": "tiny:256", "train.epochs": 1, **FAST, "train.compile": True},
            reporter=quiet,
            out=tmp_path / "run",
        )
    torch._dynamo.reset()
    updates = int(genkit.load(result.run.path, "cpu").model.state_dict()["ema.updates"])
    assert updates == 7  # 214 training images (a sixth held out), batch 32
