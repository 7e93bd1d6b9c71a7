"""The command line: each user error is one line on stderr and exit code 1, never a traceback."""

import json
from importlib import metadata

import pytest

from genkit import plugins as plugins_module


def one_line_error(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert "Traceback" not in err
    assert lines and lines[0].startswith("error:"), err
    return " ".join(lines)  # rich may wrap a long line in a narrow terminal


def test_unknown_model(cli):
    code, _, err = cli("train", "nosuchmodel")
    assert code == 1 and "unknown model 'nosuchmodel'" in one_line_error(err)


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--set", "model.latent_dim=abc"], "model.latent_dim"),
        (["--set", "model.latent_dims=2"], "model.latent_dims: unknown key"),
        (["--epochs", "0"], "train.epochs"),
        (["--set", "train.nope=1"], "train.nope: unknown key"),
        (["--device", "cuda:7"], "cuda"),
    ],
)
def test_bad_config_values(cli, tiny, args, expected):
    code, _, err = cli("train", "vae", "--dataset", tiny, *args)
    assert code == 1 and expected in one_line_error(err)


def test_bad_config_file(cli, tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[model]\nname = "vae"\nhidden = "wide"\n')
    code, _, err = cli("train", "--config", str(cfg))
    assert code == 1 and "model.hidden" in one_line_error(err)
    cfg.write_text("[model\n")
    code, _, err = cli("train", "--config", str(cfg))
    assert code == 1 and "not valid TOML" in one_line_error(err)
    code, _, err = cli("train", "--config", str(tmp_path / "missing.toml"))
    assert code == 1 and "config file not found" in one_line_error(err)


def test_missing_run_and_bad_checkpoint(cli, tmp_path):
    code, _, err = cli("sample", "vae")
    assert code == 1 and "no run directory, checkpoint or runs" in one_line_error(err)
    bad = tmp_path / "model.safetensors"
    bad.write_bytes(b"\x80\x04junk" * 10)
    code, _, err = cli("sample", str(bad))
    assert code == 1 and "never unpickles" in one_line_error(err)
    code, _, err = cli("info", str(tmp_path / "nothing-here"))
    assert code == 1 and "no such run or checkpoint" in one_line_error(err)


def test_wrong_data_dir(cli, tmp_path):
    code, _, err = cli("train", "vae", "--data-dir", str(tmp_path / "nowhere"))
    assert code == 1 and "does not exist" in one_line_error(err)


class FakeEntryPoint:
    def __init__(self, name, target):
        self.name, self.value, self.dist, self._target = name, f"{name}_module", None, target

    def load(self):
        if isinstance(self._target, Exception):
            raise self._target
        return self._target


def test_a_plugin_that_fails_to_import_is_reported_and_the_rest_load(cli, monkeypatch):
    real = list(plugins_module._entry_points())
    broken = FakeEntryPoint("brokenplugin", ImportError("No module named 'missingdep'"))
    monkeypatch.setattr(plugins_module, "_entry_points", lambda: [*real, broken])
    code, out, _ = cli("plugins", "--json")
    report = {p["name"]: p for p in json.loads(out)}
    assert code == 0
    assert report["brokenplugin"]["status"] == "broken" and "missingdep" in report["brokenplugin"]["error"]
    assert report["vae"]["status"] == "ok" and report["vae"]["provides"]["models"] == ["vae"]
    assert any(ep.name == "vae" for ep in real) and metadata.version("genkit-vae")


def test_genkit_plugins_env_limits_what_loads(cli, monkeypatch):
    monkeypatch.setenv("GENKIT_PLUGINS", "")
    code, _, err = cli("train", "vae")
    assert code == 1 and "unknown model 'vae'" in one_line_error(err)


def test_score_json_carries_the_metrics_notes(cli, tiny, quiet):
    from judge_helpers import install_tiny_judge

    import genkit

    install_tiny_judge()
    run_dir = genkit.train(
        "vae", overrides={"train.dataset": tiny, "train.epochs": 1, "train.val_size": 64}, reporter=quiet
    ).run.path
    code, out, _ = cli("score", str(run_dir), "-m", "coverage", "--dataset", tiny, "--json")
    report = json.loads(out)
    assert code == 0 and report["metrics"]["classes_seen"] >= 1
    assert any(note.startswith("class histogram of samples:") for note in report["notes"])
    saved = json.loads((run_dir / "scores.json").read_text())[-1]
    assert saved["metrics"] == report["metrics"] and saved["notes"] == report["notes"]
