"""The CVAE plugin and conditions in the core: training, checkpoints, sampling, completion."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import genkit
from genkit.checkpoint import load_checkpoint, save_checkpoint
from genkit.errors import CheckpointError

TINY = {"train.dataset": "tiny", "train.epochs": 1, "train.val_size": 64, "train.grid_samples": 16, "model.hidden": 64}


def _train(model, quiet, **extra):
    return genkit.train(model, overrides={**TINY, **extra}, reporter=quiet).run.path


def test_column_binarization_is_resampled_per_pass_and_fixed_for_evaluation():
    from genkit_cvae.model import ConditionalVAE, CVAEConfig

    model = ConditionalVAE(CVAEConfig(condition="column", hidden=16), genkit.DataInfo("mnist", (1, 28, 28), 10))
    raw = genkit.Batch(x=torch.full((256, 1, 28, 28), 100, dtype=torch.uint8))
    first, second = (model.prepare_batch(raw) for _ in range(2))
    assert first.condition.shape == (256, 28)
    assert not torch.equal(first.condition, second.condition)  # a new draw every pass
    # the column is the middle column of the binarized image the model must explain
    assert torch.equal(first.condition, first.x.view(256, 28, 28)[:, :, 14])
    # binarized with probability = intensity (100/255 ~ 0.392)
    assert abs(first.condition.mean().item() - 100 / 255) < 0.02
    evals = [model.prepare_batch(raw, generator=torch.Generator().manual_seed(3)) for _ in range(2)]
    assert torch.equal(evals[0].condition, evals[1].condition)


def test_a_column_model_declares_completion_and_a_label_model_does_not():
    from genkit_cvae.model import ConditionalVAE, CVAEConfig
    from genkit_cvae.regressor import ColumnRegressor, RegressorConfig

    from genkit.capabilities import capabilities, completes

    info = genkit.DataInfo("mnist", (1, 28, 28), 10)
    column = ConditionalVAE(CVAEConfig(condition="column", hidden=16), info)
    label = ConditionalVAE(CVAEConfig(condition="label", hidden=16), info)
    regressor = ColumnRegressor(RegressorConfig(hidden=16), info)
    assert completes(column) and completes(regressor) and not completes(label)
    assert "completion" in capabilities(column) and "completion" not in capabilities(label)
    raw = genkit.Batch(x=torch.randint(0, 256, (3, 1, 28, 28), dtype=torch.uint8))
    batch = column.prepare_batch(raw, generator=torch.Generator().manual_seed(0))
    seen = column.observed(batch)
    assert seen.shape == (3, 1, 28, 28)
    assert torch.equal(seen[:, 0, :, 14], batch.condition)  # the observed column, in place
    assert torch.all(seen[:, :, :, :14] == 0.5)  # the rest grey
    assert column.complete(batch, torch.Generator().manual_seed(1)).shape == (3, 1, 28, 28)


def test_conditions_survive_a_checkpoint_round_trip(tiny, quiet):
    run = _train("cvae", quiet, **{"model.condition": "label"})
    lm = genkit.load(run)
    assert lm.model.conditioning == "label" and lm.meta["conditioning"] == "label"
    assert "conditional (label)" in genkit.info(run)["capabilities"]
    z = torch.randn(4, *lm.model.latent_shape)
    with torch.no_grad():
        three, seven = lm.model.decode(z, torch.full((4,), 3)), lm.model.decode(z, torch.full((4,), 7))
    assert not torch.allclose(three, seven)  # the label reaches the decoder
    pic = genkit.sample(run, 9, label=3)
    assert pic.images.shape == (9, 1, 28, 28)

    column_run = _train("cvae", quiet, **{"model.condition": "column"})
    assert genkit.load(column_run).model.conditioning == "column"
    assert (Path(column_run) / "samples_end.png").is_file()  # grids conditioned on held-out columns


def test_checkpoint_whose_condition_disagrees_with_its_config_is_refused(tiny, quiet, tmp_path):
    run = _train("cvae", quiet, **{"model.condition": "column"})
    ckpt = load_checkpoint(Path(run) / "checkpoints" / "last.safetensors")
    bad = tmp_path / "bad.safetensors"
    save_checkpoint(bad, ckpt.tensors, {**ckpt.meta, "conditioning": "label"})
    with pytest.raises(CheckpointError, match="conditioned on 'label'"):
        genkit.load(bad)


def test_label_grid_and_label_errors(tiny, quiet, cli):
    run = _train("cvae", quiet)
    pic = genkit.sample(run, 20)  # no label: every class in turn
    assert pic.images.shape == (20, 1, 28, 28)
    code, out, err = cli("sample", str(run), "--label", "12")
    text = out + err
    assert code == 1 and "out of range" in text and "0 to 9" in text


def test_model_without_condition_refuses_label(tiny, quiet, cli):
    run = _train("vae", quiet)
    code, out, err = cli("sample", str(run), "-n", "4", "--label", "3")
    text = out + err
    assert code == 1
    assert "takes no class label" in text and "Traceback" not in text
    assert len(text.strip().splitlines()) == 1


def test_regressor_and_cvae_share_the_loop_and_the_completion_figure(tiny, quiet, cli):
    reg = _train("regressor", quiet)
    cvae = _train("cvae", quiet, **{"model.condition": "column"})
    for run in (reg, cvae):  # the same trainer, the same run layout
        assert (Path(run) / "checkpoints" / "last.safetensors").is_file() and (Path(run) / "metrics.jsonl").is_file()
    assert genkit.load(reg).model.conditioning == "column"
    scores = {
        name: genkit.score(run, ["completion"], dataset="tiny").metrics()
        for name, run in (("reg", reg), ("cvae", cvae))
    }
    for s in scores.values():
        assert 0 < s["completion_mse"] < 1 and 0 <= s["completion_pixel_entropy"] <= 0.7
    assert genkit.score(reg, ["nll"], dataset="tiny").metrics()["nll_nats"] > 0

    # the regressor is found as the most recent regressor run
    code, out, err = cli("complete", str(cvae), "--from", "column", "--digits", "3", "-k", "2")
    text = out + err
    assert code == 0, text
    png = Path(cvae) / "completion.png"
    assert png.is_file() and png.read_bytes()[:4] == b"\x89PNG"

    code, out, err = cli("complete", str(cvae), "--from", "label")

    text = out + err
    assert code == 1 and "only 'column'" in text
    code, out, err = cli("complete", str(reg), "--from", "column")
    text = out + err
    assert code == 1 and "--regressor" in text
    code, out, err = cli("sample", str(reg))
    text = out + err
    assert code == 1 and "Traceback" not in text


def test_complete_without_a_regressor_says_how_to_get_one(tiny, quiet, cli):
    cvae = _train("cvae", quiet, **{"model.condition": "column"})
    code, out, err = cli("complete", str(cvae))
    text = out + err
    assert code == 1 and "genkit train regressor" in text


def test_core_names_no_model():
    core = Path(genkit.__file__).parent
    for path in core.rglob("*.py"):
        text = path.read_text().lower()
        assert "cvae" not in text and "regressor" not in text, path


def test_mlp_is_the_plain_stack_of_linear_layers_and_loads_its_old_weights():
    from genkit_cvae.networks import mlp
    from torch import nn

    torch.manual_seed(0)
    old = nn.Sequential(nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 5), nn.Tanh(), nn.Linear(5, 3))  # the layout before
    new = mlp(6, 5, 3, layers=2, activation="tanh")
    new.load_state_dict(old.state_dict())  # an old checkpoint's weights
    x = torch.randn(4, 6)
    new.train()
    assert torch.equal(new(x), old(x))  # same weights, same function; dropout p=0 draws nothing
    again = mlp(6, 5, 3, layers=2, activation="tanh")
    again.load_state_dict(new.state_dict())  # and the new layout loads as it is
    assert torch.equal(again(x), old(x))
