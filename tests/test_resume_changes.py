"""Resume honours what can change safely, refuses what would change the run's meaning,
and records what changed in the manifest."""

import json

import pytest

import genkit
from genkit.errors import ConfigError


@pytest.fixture
def run_dir(tiny, quiet, tmp_path):
    genkit.train(
        "vae",
        overrides={"train.dataset": tiny, "train.epochs": 1, "train.val_size": 64, "model.hidden": 16},
        reporter=quiet,
        out=tmp_path / "run",
    )
    return tmp_path / "run"


def test_set_on_resume_is_honoured(run_dir, quiet):
    result = genkit.train(resume=run_dir, sets=["train.epochs=2"], reporter=quiet)
    assert len(result.metrics) == 2


def test_a_new_lr_reaches_the_restored_optimizer_and_is_recorded(run_dir, quiet):
    seen = []
    genkit.train(
        resume=run_dir,
        overrides={"train.epochs": 2, "train.lr": 1e-5},
        reporter=quiet,
        on_step=lambda t: seen.append(t.optimizers["model"].param_groups[0]["lr"]),
    )
    assert seen and set(seen) == {1e-5}
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["resumes"][-1]["changed"] == {"epochs": [1, 2], "lr": [1e-3, 1e-5]}
    assert manifest["epochs"] == 2
    assert genkit.load(run_dir, "cpu").train_config.lr == 1e-5


@pytest.mark.parametrize(
    "change",
    [
        {"sets": ["model.hidden=999"]},
        {"overrides": {"train.batch_size": 7}},
        {"overrides": {"train.val_size": 10}},
        {"overrides": {"train.seed": 5}},
        {"overrides": {"train.dataset": "mnist"}},
    ],
)
def test_changes_that_alter_the_run_are_refused(run_dir, quiet, change):
    with pytest.raises(ConfigError, match="--resume cannot change"):
        genkit.train(resume=run_dir, reporter=quiet, **change)


def test_a_config_file_and_out_are_not_ignored(run_dir, quiet, tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[model]\nname = "vae"\nhidden = 64\n')
    with pytest.raises(ConfigError, match="model.hidden"):
        genkit.train(resume=run_dir, config=cfg, reporter=quiet)
    cfg.write_text('[model]\nname = "vae"\nhidden = 16\n[train]\nepochs = 2\n')
    assert len(genkit.train(resume=run_dir, config=cfg, reporter=quiet).metrics) == 2
    with pytest.raises(ConfigError, match="--out"):
        genkit.train(resume=run_dir, out=tmp_path / "elsewhere", reporter=quiet)
