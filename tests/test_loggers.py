"""Loggers: the TensorBoard logger's event file read back with TensorBoard's own reader, the
calls a plugin's logger receives from the trainer, and the one-line errors."""

from __future__ import annotations

import json
import math
import sys

import pytest
import torch

import genkit
from genkit.plugins import get_plugin_manager

CALLS: list[tuple] = []


class Recorder(genkit.Logger):
    def start(self, run, config):
        CALLS.append(("start", config["model"]["name"], config["train"]["epochs"], run.path.name))

    def log_step(self, step, terms):
        CALLS.append(("step", step, sorted(terms)))

    def log_epoch(self, epoch, row):
        CALLS.append(("epoch", epoch, sorted(row["val"])))

    def log_images(self, name, images, epoch):
        CALLS.append(("images", name, epoch, tuple(images.shape), str(images.device)))

    def close(self):
        CALLS.append(("close",))


class Flaky(genkit.Logger):
    def log_step(self, step, terms):
        CALLS.append(("flaky step", step))
        raise ConnectionError("service unreachable")


class LoggerPlugin:
    @genkit.hookimpl
    def register_loggers(self, register):
        register(genkit.LoggerSpec("recorder", Recorder, "records every call"))
        register(genkit.LoggerSpec("flaky", "test_loggers:Flaky", "fails on its first step"))


def test_tensorboard_event_file_holds_scalars_and_one_grid_per_epoch(tiny, tmp_path, cli):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = tmp_path / "run"
    code, _, err = cli(
        "train",
        "vae",
        "--dataset",
        tiny,
        "--epochs",
        "1",
        "--log",
        "tensorboard",
        "--set",
        "train.check_every=1",
        "--out",
        str(run),
    )
    assert code == 0, err
    events = EventAccumulator(str(run / "tensorboard"))
    events.Reload()
    scalars = set(events.Tags()["scalars"])
    assert {"train/neg_elbo", "val/neg_elbo", "train/kl", "time/seconds"} <= scalars
    # 427 training images (a sixth of 512 held out) in batches of 128: 4 steps, each checked.
    assert [e.step for e in events.Scalars("step/neg_elbo")] == [1, 2, 3, 4]
    epoch_value = events.Scalars("val/neg_elbo")
    metrics = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [e.step for e in epoch_value] == [1] and epoch_value[0].value == pytest.approx(
        metrics[0]["val"]["neg_elbo"], rel=1e-5
    )
    grids = events.Images("samples")
    assert [e.step for e in grids] == [0, 1]  # before training, then after each epoch
    assert grids[-1].width > 28 * 7 and grids[-1].encoded_image_string.startswith(b"\x89PNG")
    assert "_hparams_/experiment" in events.PluginTagToContent("hparams")
    # The run's own files are unchanged by the logger.
    assert (run / "samples_end.png").is_file() and (run / "curves.png").is_file()


def test_tensorboard_after_a_divergence_and_resume_holds_each_step_once(tiny, tmp_path, quiet):
    """Steps logged between the last good checkpoint and a divergence are hidden on resume
    (TensorBoard's purge), so the resumed steps replace them instead of appearing twice."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from genkit.errors import DivergenceError

    def poison(trainer):  # after the second step of epoch 2: the third diverges
        if trainer.progress.epoch == 1 and trainer.progress.step == 2:
            with torch.no_grad():
                for p in trainer.model.parameters():
                    p.fill_(float("nan"))

    run = tmp_path / "run"
    overrides = {"train.dataset": tiny, "train.epochs": 2, "train.check_every": 1, "train.log": ["tensorboard"]}
    with pytest.raises(DivergenceError):
        genkit.train("vae", overrides=overrides, out=run, reporter=quiet, on_step=poison)
    resumed = genkit.train(resume=run, reporter=quiet)
    events = EventAccumulator(str(run / "tensorboard"))
    events.Reload()
    steps = events.Scalars("step/neg_elbo")
    # 4 steps an epoch: 1-4, then 5 and 6 before the divergence, replaced by the resumed 5-8.
    assert [e.step for e in steps] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert all(math.isfinite(e.value) for e in steps)
    assert [e.step for e in events.Scalars("val/neg_elbo")] == [1, 2]
    assert events.Scalars("val/neg_elbo")[-1].value == pytest.approx(resumed.metrics[-1]["val"]["neg_elbo"], rel=1e-5)


def test_missing_tensorboard_is_one_line_naming_the_extra(tiny, tmp_path, cli, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboard", None)  # import tensorboard raises ImportError
    code, _, err = cli(
        "train",
        "vae",
        "--dataset",
        tiny,
        "--epochs",
        "1",
        "--log",
        "tensorboard",
        "--out",
        str(tmp_path / "run"),
    )
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert code == 1 and lines[0].startswith("error:") and "Traceback" not in err
    assert "genkit[tensorboard]" in " ".join(lines)
    assert not (tmp_path / "run").exists()  # refused before the run directory was made


def test_unknown_logger_is_one_line(tiny, cli):
    code, _, err = cli("train", "vae", "--dataset", tiny, "--log", "nosuch")
    assert code == 1 and "unknown logger 'nosuch'" in err and "tensorboard" in err


def test_plugin_logger_gets_steps_at_checks_epochs_and_grids(tiny, tmp_path):
    get_plugin_manager().register_plugin(LoggerPlugin(), "recorder-plugin")
    CALLS.clear()
    warnings: list[str] = []

    from genkit.training.reporting import Reporter

    class Collect(Reporter):
        def message(self, text):
            warnings.append(text)

    genkit.train(
        "vae",
        overrides={
            "train.dataset": tiny,
            "train.epochs": 2,
            "train.check_every": 2,
            "train.log": ["recorder", "flaky", "recorder"],
        },
        out=tmp_path / "run",
        reporter=Collect(),
    )
    assert CALLS[0] == ("start", "vae", 2, "run")
    assert CALLS[-1] == ("close",)
    # 4 steps an epoch, checked every 2: global steps 2, 4 (epoch 1) and 6, 8 (epoch 2).
    assert [c[1] for c in CALLS if c[0] == "step"] == [2, 4, 6, 8]
    assert all(c[2] == ["kl", "neg_elbo", "recon"] for c in CALLS if c[0] == "step")
    assert [c[1] for c in CALLS if c[0] == "epoch"] == [1, 2]
    assert [c[2] for c in CALLS if c[0] == "images"] == [0, 1, 2]
    assert {c[3] for c in CALLS if c[0] == "images"} == {(64, 1, 28, 28)} and {
        c[4] for c in CALLS if c[0] == "images"
    } == {"cpu"}
    # A logger that raises is dropped after its first failure, with one warning; training goes on.
    assert [c for c in CALLS if c[0] == "flaky step"] == [("flaky step", 2)]
    assert len([w for w in warnings if "logger 'flaky' failed" in w]) == 1
    assert (tmp_path / "run" / "checkpoints" / "last.safetensors").is_file()


def test_a_logger_must_be_registered_as_a_logger_spec():
    class Bad:
        @genkit.hookimpl
        def register_loggers(self, register):
            register(Recorder(), name="rec")

    info = get_plugin_manager().register_plugin(Bad(), "bad-logger")
    assert info.status == "broken" and "genkit.LoggerSpec" in info.error


def test_the_mlflow_logger_of_the_plugin_guide_works(tiny, tmp_path, monkeypatch, quiet):
    """docs/plugins.md's MLflow logger, taken from the page, against a stand-in ``mlflow`` module."""
    import importlib
    import re
    import types
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[1] / "docs" / "plugins.md").read_text()
    blocks = re.findall(r"```python\n# (genkit_mlflow/\S+)[^\n]*\n(.*?)```", doc, re.S)
    assert [path for path, _ in blocks] == ["genkit_mlflow/__init__.py", "genkit_mlflow/logger.py"]
    for path, body in blocks:
        (tmp_path / "pkg" / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "pkg" / path).write_text(body)
    calls: list[tuple] = []
    fake = types.ModuleType("mlflow")
    for name in ("start_run", "log_params", "log_metrics", "log_image", "end_run"):
        setattr(fake, name, lambda *args, _name=name, **kwargs: calls.append((_name, args, kwargs)))
    monkeypatch.setitem(sys.modules, "mlflow", fake)
    monkeypatch.syspath_prepend(str(tmp_path / "pkg"))
    importlib.invalidate_caches()
    hooks = importlib.import_module("genkit_mlflow")
    assert "genkit_mlflow.logger" not in sys.modules  # named lazily: nothing heavy on plugin discovery
    info = get_plugin_manager().register_plugin(hooks, "mlflow")
    assert info.status == "ok" and info.provides == {"loggers": ["mlflow"]}, info.error

    genkit.train(
        "vae",
        overrides={"train.dataset": tiny, "train.epochs": 1, "train.check_every": 2, "train.log": ["mlflow"]},
        out=tmp_path / "run",
        reporter=quiet,
    )
    names = [c[0] for c in calls]
    assert names[0] == "start_run" and names[-1] == "end_run" and calls[0][2] == {"run_name": "run"}
    assert calls[1][0] == "log_params" and calls[1][1][0]["model.latent_dim"] == 20
    assert [c[2]["step"] for c in calls if c[0] == "log_metrics" and "step/neg_elbo" in c[1][0]] == [2, 4]
    images = [c[1] for c in calls if c[0] == "log_image"]
    assert [name for _, name in images] == ["samples/epoch000.png", "samples/epoch001.png"] and images[0][0].shape[
        2
    ] == 3


def test_loggers_leave_the_training_path_unchanged(tiny, tmp_path, quiet):
    """A grid for the loggers every epoch is drawn under its own RNG: the same seed trains the same weights."""
    get_plugin_manager().register_plugin(LoggerPlugin(), "recorder-plugin")
    rows = []
    for name, log in (("plain", []), ("logged", ["recorder"])):
        result = genkit.train(
            "vae",
            overrides={"train.dataset": tiny, "train.epochs": 3, "train.check_every": 1, "train.log": log},
            out=tmp_path / name,
            reporter=quiet,
        )
        rows.append([(r["train"], r["val"]) for r in result.metrics])
    assert rows[0] == rows[1]
