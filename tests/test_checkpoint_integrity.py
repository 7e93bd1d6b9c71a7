"""Every command that opens a checkpoint refuses the same damage with the same words: a flipped
bit (the digest in the header), non-finite or int8 weights, a conditioning the config no longer
builds, images of another shape, optimizer and RNG state that do not fit; and nothing computed
is thrown away (a score that cannot be saved is printed, a picture suggests --out)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

import genkit
from genkit.artifacts import DIGEST_KEY, tensor_digest
from genkit.files import host_tag

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A small VAE run on ``tiny`` (one epoch), shared: each test works on a copy."""
    from conftest import register_tiny

    register_tiny()
    out = tmp_path_factory.mktemp("integrity") / "vae"
    genkit.train(
        "vae",
        overrides={
            "train.dataset": "tiny",
            "train.epochs": 1,
            "train.val_size": 64,
            "train.device": "cpu",
            "train.grid_samples": 4,
            "model.hidden": 16,
            "model.latent_dim": 2,
        },
        out=out,
        reporter=genkit.Reporter(),
    )
    return out


@pytest.fixture
def run(trained, tmp_path, tiny):
    copy = tmp_path / "vae"
    shutil.copytree(trained, copy)
    return copy


def rewrite(path, change_tensors=None, change_meta=None, digest=True):
    """Rewrite a checkpoint as a tool would: tensors or metadata changed, the digest made to match."""
    tensors = load_file(str(path))
    with safe_open(str(path), framework="pt") as f:
        meta = json.loads(f.metadata()["genkit"])
    if change_tensors:
        change_tensors(tensors)
    if change_meta:
        change_meta(meta)
    header = {"genkit": json.dumps(meta)}
    if digest:
        header[DIGEST_KEY] = tensor_digest(tensors)
    save_file(tensors, str(path), metadata=header)


def one_line(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line.strip() and not line.startswith("note:")]
    assert "Traceback" not in err and len(lines) == 1 and lines[0].startswith("error:"), err
    return " ".join(err.split())


def last_error(err: str) -> str:
    """The error line that ends a command which printed progress first (rich may wrap it)."""
    assert "Traceback" not in err and err.count("error:") == 1, err
    return " ".join(err[err.index("error:") :].split())


#: The commands that open a checkpoint, as a user types them.
COMMANDS = [
    ["sample", "{run}", "-n", "4", "--device", "cpu"],
    ["score", "{run}", "-m", "elbo", "--limit", "16", "--device", "cpu"],
    ["interpolate", "{run}", "--steps", "2", "--device", "cpu"],
    ["info", "{run}"],
    ["train", "--resume", "{run}", "--epochs", "2", "--device", "cpu"],
]


def refused_by_all(cli, run, expected: str) -> None:
    for command in COMMANDS:
        code, _, err = cli(*[str(a).format(run=run) for a in command])
        assert code == 1, (command, err)
        assert expected in one_line(err), (command, err)


def test_a_flipped_bit_is_named_by_every_command(cli, run):
    path = run / "checkpoints" / "last.safetensors"
    data = bytearray(path.read_bytes())
    data[-100] ^= 0x10  # a bit in the tensor data, after the header
    path.write_bytes(bytes(data))
    refused_by_all(cli, run, f"{path} is damaged: its tensor data do not match the digest in its header")
    code, _, err = cli("report", path, "--out", run / "r.html")  # a checkpoint named in a report is opened alike
    assert code == 1 and "is damaged" in one_line(err)


def test_non_finite_weights_are_refused_by_every_command(cli, run):
    path = run / "checkpoints" / "last.safetensors"
    rewrite(path, lambda t: t["model/decoder.0.weight"].view(-1)[:3].fill_(float("nan")))
    refused_by_all(cli, run, "weight decoder.0.weight holds 3 NaN or infinite value(s)")


def test_weights_of_another_dtype_are_refused(cli, run):
    path = run / "checkpoints" / "last.safetensors"
    rewrite(path, lambda t: t.update({"model/decoder.0.bias": t["model/decoder.0.bias"].to(torch.int8)}))
    refused_by_all(cli, run, "weight decoder.0.bias is stored as torch.int8, the model keeps it as torch.float32")


def test_a_conditioning_the_config_no_longer_builds_is_refused(cli, run):
    rewrite(run / "checkpoints" / "last.safetensors", change_meta=lambda m: m.update(conditioning="label"))
    refused_by_all(cli, run, "was saved by a model conditioned on 'label', but its config now builds one conditioned")


def test_optimizer_and_rng_state_that_do_not_fit_are_refused_on_resume(cli, run):
    path = run / "checkpoints" / "last.safetensors"
    original = path.read_bytes()
    rewrite(path, lambda t: t.update({"optim/model/0/exp_avg": t["optim/model/0/exp_avg"][:3]}))
    code, _, err = cli("train", "--resume", run, "--epochs", "2", "--device", "cpu")
    assert code == 1 and "optimizer 'model' state 0/exp_avg has shape [3" in one_line(err)
    path.write_bytes(original)
    rewrite(path, lambda t: t.update({"state/rng/cpu": t["state/rng/cpu"][:100]}))
    code, _, err = cli("train", "--resume", run, "--epochs", "2", "--device", "cpu")
    assert code == 1 and "RNG state state/rng/cpu is a torch.uint8 tensor of shape [100]" in one_line(err)
    assert json.loads((run / "status.json").read_text())["status"] == "finished"  # a refused resume changes nothing


def test_a_checkpoint_without_a_digest_loads_with_a_note(cli, run):
    rewrite(run / "checkpoints" / "last.safetensors", digest=False)
    code, out, err = cli("info", run, "--json")
    assert code == 0 and json.loads(out)["model"] == "vae"
    assert "note:" in err and "was written without a digest of its tensor data" in " ".join(err.split())


def test_images_of_another_shape_are_refused_by_score(cli, run, tmp_path, bars_folder):
    folder = bars_folder(tmp_path / "bars")  # 12x12 images
    code, _, err = cli("score", run, "-m", "elbo", "--dataset", folder, "--device", "cpu")
    assert code == 1 and "was trained on images of shape [1, 28, 28]; folder:" in one_line(err)
    assert "has images of shape [1, 12, 12]" in one_line(err)
    code, _, err = cli("score", run, "--ood", folder, "--device", "cpu")
    assert code == 1 and "has images of shape [1, 12, 12]" in one_line(err)


def test_a_killed_writers_temporary_files_are_removed_on_the_next_open(cli, run):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    checkpoints = run / "checkpoints"
    leftover = checkpoints / f".last.safetensors.{dead.pid}-{host_tag()}.x1y2.tmp"
    in_progress = checkpoints / f".last.safetensors.{os.getpid()}-{host_tag()}.a1b2.tmp"
    for path in (leftover, in_progress):
        path.write_bytes(b"\0" * 1000)
    code, _, err = cli("sample", run, "-n", "4", "--device", "cpu")
    assert code == 0, err
    assert not leftover.exists() and in_progress.exists()


def test_a_score_that_cannot_be_saved_is_still_printed(cli, run):
    (run / "scores.json").mkdir()  # stands in for a file genkit cannot write (read-only, full disk)
    code, out, err = cli("score", run, "-m", "elbo", "--limit", "16", "--device", "cpu")
    text = " ".join(out.split())
    assert code == 0, err
    assert "neg_elbo" in text and "these scores are shown here only and were not saved: could not write" in text


def test_a_picture_that_cannot_be_written_suggests_out(cli, run, tmp_path):
    (run / "samples.png").mkdir()
    code, _, err = cli("sample", run, "-n", "4", "--device", "cpu")
    assert code == 1 and "could not write" in one_line(err) and "elsewhere with --out FILE" in one_line(err)
    code, _, err = cli("sample", run, "-n", "4", "--device", "cpu", "--out", tmp_path / "s.png")
    assert code == 0 and (tmp_path / "s.png").is_file()


def test_a_full_disk_names_the_file_and_the_last_good_checkpoint(cli, tiny, tmp_path, monkeypatch):
    import genkit.artifacts as artifacts

    real, calls = artifacts.save_file, []

    def fails_on_the_third_write(tensors, path, metadata=None):
        calls.append(path)
        if len(calls) == 3:  # epoch 1's last and best went through; epoch 2's last does not
            with open(path, "wb") as f:
                f.write(b"\0" * 100)  # the part written before the disk filled up
            raise Exception("Error while serializing: I/O error: No space left on device (os error 28)")
        return real(tensors, path, metadata=metadata)

    monkeypatch.setattr(artifacts, "save_file", fails_on_the_third_write)
    run = tmp_path / "run"
    code, _, err = cli(
        "train", "vae", "--dataset", tiny, "--epochs", "3", "--out", run, "--device", "cpu",
        "--set", "model.hidden=16", "--set", "train.val_size=64", "--set", "train.grid_samples=4",
    )  # fmt: skip
    last = run / "checkpoints" / "last.safetensors"
    assert code == 1 and (
        f"could not write {last}: No space left on device; the last good checkpoint is {last} (epoch 1 done), intact"
    ) in last_error(err)
    assert not [p for p in last.parent.iterdir() if p.name.endswith(".tmp")]
    assert genkit.load(run).meta["progress"]["epoch"] == 1
    status = json.loads((run / "status.json").read_text())
    assert status["status"] == "crashed" and "No space left on device" in status["reason"]
