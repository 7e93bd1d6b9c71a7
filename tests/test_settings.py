"""No setting is dropped or changed without a word: strict types, unknown keys listed, a flag
replacing a --set value said, every value the data cannot honour reported and recorded,
`train.limit`, and a resume with nothing to train refused."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel

from genkit.config import validate
from genkit.errors import ConfigError

TINY_VAE = ["--set", "model.hidden=16", "--set", "model.latent_dim=2", "--device", "cpu"]


def one_line(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert "Traceback" not in err and lines and lines[0].startswith("error:"), err
    return " ".join(lines)


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--set", "train.epochs=abc", "--epochs", "1"], "train.epochs: expected an integer, got a string ('abc')"),
        (["--set", "train.epochs=1.5", "--epochs", "1"], "train.epochs: expected an integer, got 1.5"),
        (["--set", "train.epochs=[1,2]", "--epochs", "1"], "train.epochs"),
        (["--set", "train.epochs=0", "--epochs", "1"], "train.epochs: Input should be greater than 0"),
        (["--set", "train.epochs=true"], "train.epochs: expected an integer, got a boolean (true)"),
        (["--set", "train.lr='1e-3'"], "train.lr: expected a number, got a string ('1e-3')"),
        (["--set", "train.compile=1"], "train.compile: expected true or false, got 1"),
        (["--set", "model.latent_dim=2.0"], "model.latent_dim: expected an integer, got 2.0"),
        (["--set", "train.nope=1"], "train.nope: unknown key (valid keys: batch_size, check_every"),
    ],
)
def test_every_set_value_is_checked_strictly_even_when_a_flag_replaces_it(cli, tiny, args, expected):
    code, _, err = cli("train", "vae", "--dataset", tiny, *TINY_VAE, *args)
    assert code == 1 and expected in one_line(err)


def test_toml_values_are_not_coerced(cli, tiny, tmp_path):
    config = tmp_path / "c.toml"
    for table, expected in [
        ("lr = '1e-3'", "train.lr: expected a number, got a string ('1e-3')"),
        ("epochs = true", "train.epochs: expected an integer, got a boolean (true)"),
        ("val_size = 1e3", "train.val_size: expected an integer, got 1000.0"),
    ]:
        config.write_text(f'[model]\nname = "vae"\n[train]\n{table}\n')
        code, _, err = cli("train", "--config", config, "--dataset", tiny)
        assert code == 1 and expected in one_line(err)


def test_an_unknown_key_lists_the_valid_ones_even_where_the_config_class_ignores_extras():
    class Lenient(BaseModel):  # pydantic's default: extra keys silently ignored
        width: int = 3
        depth: int = 2

    with pytest.raises(ConfigError, match=r"model.widht: unknown key \(valid keys: depth, width\)"):
        validate(Lenient, {"widht": 4}, "model")
    assert validate(Lenient, {"width": 4}, "model").width == 4


def test_flag_wins_over_set_and_says_so_and_clamps_are_reported_and_recorded(cli, tiny, tmp_path):
    run = tmp_path / "run"
    code, _, err = cli(
        "train", "vae", "--dataset", tiny, *TINY_VAE, "--out", run, "--epochs", "1",
        "--set", "train.epochs=3", "--set", "train.val_size=10000", "--batch-size", "4096",
    )  # fmt: skip
    text = " ".join(err.split())
    assert code == 0, err
    assert "note: --epochs 1 replaces --set train.epochs=3" in text
    assert "train.val_size=10000 is more than a sixth of the 512 training images; holding out 85" in text
    assert "train.batch_size=4096 is more than the 427 training images; each step trains on all of them" in text
    manifest = json.loads((run / "manifest.json").read_text())
    assert [(a["setting"], a["asked"], a["used"]) for a in manifest["adjusted"]] == [
        ("train.val_size", 10000, 85),
        ("train.batch_size", 4096, 427),
    ]
    config = json.loads((run / "config.json").read_text())["train"]
    assert config["epochs"] == 1 and config["val_size"] == 85  # what the run did


def test_train_limit_trains_on_the_first_n_images_and_keeps_the_validation_images(cli, tiny, tmp_path):
    import genkit
    from genkit.data import load_dataset, split_validation

    data = load_dataset(tiny)
    full, limited = split_validation(data, 85), split_validation(data, 85, limit=100)
    assert limited.train_x.shape[0] == 100 and bool((limited.val_x == full.val_x).all())
    held = {int(i) for i in torch_order(85)}
    first = [i for i in range(512) if i not in held][:100]  # in file order
    assert bool((limited.train_x == data.train_x[first]).all())

    run = tmp_path / "run"
    args = ["train", "vae", "--dataset", tiny, *TINY_VAE, "--out", run, "--epochs", "1", "--batch-size", "32"]
    code, _, err = cli(*args, "--set", "train.limit=100", "--set", "train.val_size=85")
    assert code == 0, err
    assert genkit.load(run).train_config.limit == 100
    code, _, err = cli(*args[:-4], "--out", tmp_path / "run2", "--set", "train.limit=1000", "--epochs", "1")
    assert code == 0 and "train.limit=1000 is more than the 427 images left after the validation hold-out" in " ".join(
        err.split()
    )


def torch_order(val_size: int):
    import torch

    return torch.randperm(512, generator=torch.Generator().manual_seed(20_141_220))[:val_size]


def test_a_resume_with_nothing_to_train_says_so_and_fails(cli, tiny, tmp_path):
    run = tmp_path / "run"
    assert cli("train", "vae", "--dataset", tiny, *TINY_VAE, "--out", run, "--epochs", "1").code == 0
    code, _, err = cli("train", "--resume", run)
    assert code == 1 and "nothing to train: " in one_line(err) and "has finished all 1 of its epochs" in one_line(err)
    code, _, err = cli("train", "--resume", run, "--epochs", "1")
    assert code == 1 and "train further with --epochs N (N > 1)" in one_line(err)


def test_a_last_batch_of_one_image_does_not_break_batch_norm(cli, tiny, tmp_path):
    # 65 images in batches of 64: the 65th joins the first batch instead of making a batch of one.
    code, _, err = cli(
        "train", "gan", "--dataset", tiny, "--device", "cpu", "--epochs", "1", "--batch-size", "64",
        "--set", "train.val_size=0", "--set", "train.limit=65", "--set", "model.architecture=dcgan",
        "--set", "model.channels=4", "--set", "train.grid_samples=4", "--out", tmp_path / "gan",
    )  # fmt: skip
    assert code == 0, err
    code, _, err = cli("train", "vae", "--dataset", tiny, "--set", "train.limit=1", *TINY_VAE)
    assert code == 1 and "an epoch needs at least 2" in one_line(err)
