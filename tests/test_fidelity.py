"""Inception FID, KID and IS (genkit-fidelity) through the installed ``genkit`` script.

The real Inception-v3 weights cannot be downloaded where these tests run, so most tests use a
stand-in (tests/inception_standin.py): torch-fidelity's own Inception-v3 network with random,
test-made weights, passed exactly as the real file would be. Its figures mean nothing, but the
comparison with torch-fidelity on the same images and weights is exact, and every check on the
weights file, the images and the counts is the same. ``test_real_weights_match_torch_fidelity``
runs the real weights where they are present and is skipped otherwise.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch
from inception_standin import write_standin_weights
from test_front_door import genkit_script, run_genkit

REAL_SHA256 = "6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2"


def _write_pngs(folder: Path, images: list[torch.Tensor]) -> Path:
    from torchvision.io import encode_png, write_file

    folder.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        for i, image in enumerate(images):
            write_file(str(folder / f"{i:02d}.png"), encode_png(image))
    return folder


def _noise(n: int, channels: int, size: int, low: int, high: int, seed: int) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [torch.randint(low, high, (channels, size, size), generator=g, dtype=torch.uint8) for _ in range(n)]


@pytest.fixture
def folders(tmp_path) -> tuple[Path, Path]:
    """A: 4 images, grey and colour mixed; B: 4 colour images of two sizes (few: 299x299 Inception is slow)."""
    a = _write_pngs(tmp_path / "a", _noise(3, 3, 32, 0, 200, 1) + _noise(1, 1, 32, 0, 200, 2))
    b = _write_pngs(tmp_path / "b", _noise(2, 3, 32, 50, 256, 3) + _noise(2, 3, 40, 50, 256, 4))
    return a, b


@pytest.fixture
def standin(tmp_path) -> tuple[Path, str]:
    path = tmp_path / "standin-inception.pth"
    return path, write_standin_weights(path)


def _genkit(*args, env: dict | None = None):
    """The installed script; Inception-v3 at 299x299 takes its time on a busy two-core machine."""
    cmd = [sys.executable, genkit_script(), *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, env={**os.environ, **(env or {})})


def _json(proc) -> dict:
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _one_error_line(proc) -> str:
    assert proc.returncode == 1 and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    return lines[0]


def _torch_fidelity(a: Path, b: Path, weights: Path, n: int) -> dict:
    import torch_fidelity

    os.environ["TORCH_FORCE_WEIGHTS_ONLY_LOAD"] = "1"  # the test's own file, loaded safely all the same
    try:
        return torch_fidelity.calculate_metrics(
            input1=str(a),
            input2=str(b),
            fid=True,
            kid=True,
            kid_subset_size=n,
            feature_extractor_weights_path=str(weights),
            batch_size=1,  # one image per batch: B's two sizes cannot share one
            cuda=False,
            cache=False,
            verbose=False,
            save_cpu_ram=True,
        )
    finally:
        del os.environ["TORCH_FORCE_WEIGHTS_ONLY_LOAD"]


def _assert_close(ours: dict, theirs: dict) -> None:
    pairs = {
        "inception_fid": "frechet_inception_distance",
        "inception_kid": "kernel_inception_distance_mean",
    }
    for mine, reference in pairs.items():
        assert ours[mine] == pytest.approx(theirs[reference], rel=1e-3), mine


def test_fid_and_kid_equal_torch_fidelity_on_the_same_images_and_weights(folders, standin, tmp_path):
    a, b = folders
    weights, sha = standin
    flags = ["--feature-weights", str(weights), "--feature-weights-sha256", sha]
    ours = _json(_genkit("fid", a, b, "--kid", "--json", *flags))
    _assert_close(ours["metrics"], _torch_fidelity(a, b, weights, 4))
    assert ours["metrics"]["inception_fid"] > 0
    assert ours["details"] == {
        "samples": 4,
        "samples_from": f"folder {a}",
        "reference": f"folder {b}",
        "reference_images": 4,
        "extractor": ours["details"]["extractor"],
        "weights_sha256": sha,
        "standard_weights": False,
    }
    assert ours["details"]["extractor"].startswith("inception-v3-compat (torch-fidelity ")
    notes = "\n".join(ours["notes"])
    assert "1 grey images of 4 repeated into three channels" in notes
    assert "images of 2 sizes (32x32, 40x40)" in notes
    assert "rank below the 2048 feature dimensions" in notes  # fewer images than feature dimensions
    assert "NOT the standard weights" in notes

    # The verified weights and both folders' features are kept for later commands (genkit score).
    cache = Path(os.environ["GENKIT_CACHE_DIR"]) / "fidelity"
    assert (cache / "weights" / f"{sha}.pth").read_bytes() == weights.read_bytes()
    assert len(list((cache / "features").glob("*.safetensors"))) == 2


def test_missing_weights_offline_is_one_line_naming_the_file_its_hash_and_how_to_pass_it(tmp_path):
    line = _one_error_line(run_genkit("fid", str(tmp_path), "mnist"))
    assert "weights-inception-2015-12-05-6726825d.pth" in line and REAL_SHA256 in line
    assert "--feature-weights PATH" in line and "GENKIT_INCEPTION_WEIGHTS=PATH" in line


def test_a_wrong_or_tampered_weights_file_is_refused_before_it_is_read(standin, tmp_path):
    weights, sha = standin
    wrong = _one_error_line(run_genkit("fid", str(tmp_path), str(tmp_path), "--feature-weights", str(weights)))
    assert f"has SHA-256 {sha}, expected {REAL_SHA256}" in wrong and "nothing was loaded" in wrong
    tampered = tmp_path / "tampered.pth"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 1
    tampered.write_bytes(bytes(data))
    args = ["fid", str(tmp_path), str(tmp_path), "--feature-weights", str(tampered), "--feature-weights-sha256", sha]
    assert f"expected {sha}" in _one_error_line(run_genkit(*args))


class _Payload:
    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_weights_file_that_runs_code_when_unpickled_is_refused_and_runs_nothing(folders, tmp_path):
    marker = tmp_path / "code-ran"
    payload = _Payload()
    payload.marker = marker
    evil = tmp_path / "evil.pth"
    evil.write_bytes(pickle.dumps({"Conv2d_1a_3x3.conv.weight": payload}))
    sha = hashlib.sha256(evil.read_bytes()).hexdigest()
    a, b = folders
    args = ["fid", str(a), str(b), "--feature-weights", str(evil), "--feature-weights-sha256", sha]
    line = _one_error_line(_genkit(*args))
    assert "does not load as Inception-v3 weights" in line
    assert not marker.exists()


def test_folders_without_images_or_with_one_image_are_one_line(standin, tmp_path):
    weights, sha = standin
    flags = ["--feature-weights", str(weights), "--feature-weights-sha256", sha]
    empty = tmp_path / "empty"
    (empty / "sub").mkdir(parents=True)
    (empty / "notes.txt").write_text("not an image")
    assert f"no images (.png, .jpg, .jpeg, .bmp, .gif, .webp) under {empty}" in _one_error_line(
        run_genkit("fid", str(empty), str(empty), *flags)
    )
    one = _write_pngs(tmp_path / "one", _noise(1, 3, 8, 0, 256, 0))
    line = _one_error_line(run_genkit("fid", str(one), str(one), *flags))
    assert "at least 2 images on each side (got 1 and 1)" in line
    assert "is not a folder of images" in _one_error_line(run_genkit("fid", str(tmp_path / "nope"), "mnist", *flags))


def test_a_dataset_is_its_test_split_identified_by_its_pixels(tiny):
    from genkit_fidelity.images import from_spec

    images = from_spec("tiny")
    assert images.count == 256 and images.label == "tiny test"
    assert images.identity.startswith("tiny|test#256x") and "grey images repeated" in images.notes[0]
    first = next(images.batches())
    assert first.dtype == torch.uint8 and first.shape == (64, 3, 28, 28)
    assert torch.equal(first[:, 0], first[:, 2])


def _real_weights() -> Path | None:
    from genkit_fidelity.weights import _hub_candidates

    for path in [os.environ.get("GENKIT_INCEPTION_WEIGHTS"), *_hub_candidates()]:
        if path and Path(path).is_file():
            return Path(path)
    return None


def test_real_weights_match_torch_fidelity(folders):
    weights = _real_weights()
    if weights is None:
        pytest.skip(
            "the real Inception-v3 weights (weights-inception-2015-12-05-6726825d.pth) are not on this machine; "
            "set GENKIT_INCEPTION_WEIGHTS=PATH to run this test"
        )
    a, b = folders
    ours = _json(_genkit("fid", a, b, "--kid", "--json", "--feature-weights", weights))
    assert ours["details"]["standard_weights"] is True
    _assert_close(ours["metrics"], _torch_fidelity(a, b, weights, 4))


def test_score_records_inception_figures_with_their_samples_reference_and_weights(
    tiny, quiet, standin, cli, tmp_path, monkeypatch
):
    import genkit

    weights, sha = standin
    monkeypatch.setenv("GENKIT_INCEPTION_WEIGHTS", str(weights))
    monkeypatch.setenv("GENKIT_INCEPTION_SHA256", sha)
    run = genkit.train(
        "vae",
        overrides={"train.dataset": tiny, "train.epochs": 1, "train.val_size": 64, "model.hidden": 32},
        reporter=quiet,
        out=tmp_path / "run",
    ).run.path
    args = ["score", run, "-m", "inception-kid", "-m", "inception-pr", "--limit", "4", "--device", "cpu", "--json"]
    code, out, err = cli(*args)
    assert code == 0, err
    scored = json.loads(out)
    assert set(scored["metrics"]) == {"inception_kid", "inception_kid_std", "inception_precision", "inception_recall"}
    details = scored["details"]["inception-kid"]
    assert details == scored["details"]["inception-pr"]  # one draw, one reference, shared
    assert details["samples"] == details["reference_images"] == 4 and details["reference"] == "tiny test"
    assert details["weights_sha256"] == sha and details["samples_from"] == "drawn with 'prior'"
    assert sum("Inception figures: 4 images" in n for n in scored["notes"]) == 1
    record = json.loads((run / "scores.json").read_text())[-1]
    assert record["details"] == scored["details"] and record["metrics"] == scored["metrics"]

    # The same test images as a folder of PNGs are the same reference: the same figures.
    test = genkit.load_dataset(tiny).test_x[:4]
    folder = _write_pngs(tmp_path / "test-pngs", list(test))
    code, out, err = cli(*args, "--reference", f"folder:{folder}")
    assert code == 0, err
    again = json.loads(out)
    assert (
        again["reference"] == f"folder:{folder}"
        and again["details"]["inception-kid"]["reference"] == f"folder {folder}"
    )
    assert again["metrics"] == pytest.approx(scored["metrics"], rel=1e-5)

    code, _, err = cli("score", run, "-m", "elbo", "--reference", f"folder:{folder}")
    assert code == 1 and "--reference does not apply to metric 'elbo'" in err and "inception-fid" in err


def test_runs_and_the_report_show_inception_figures_with_what_they_depend_on(tmp_path, cli, monkeypatch):
    from test_report import make_run

    from genkit.report import write_report

    root = tmp_path / "runs"
    monkeypatch.setenv("GENKIT_RUNS_DIR", str(root))
    details = {
        "samples": 3000,
        "samples_from": "drawn with 'prior'",
        "reference": "folder /photos",
        "reference_images": 3000,
        "extractor": "inception-v3-compat (torch-fidelity 0.4.0)",
        "weights_sha256": REAL_SHA256,
        "standard_weights": True,
    }
    record = {
        "dataset": "mnist",
        "reference": "folder:/photos",
        "metrics": {"inception_fid": 12.3456, "judge_fd": 3.25},
        "details": {"inception-fid": details},
    }
    run = make_run(root, "gan-1", "gan", "mnist", ["loss"], {"status": "finished"}, scores=[record])
    code, out, err = cli("runs", "--json")
    assert code == 0 and json.loads(out)[0]["scores"] == {"inception_fid": 12.3456, "judge_fd": 3.25}, err
    monkeypatch.setenv("COLUMNS", "200")
    code, out, err = cli("runs")
    assert code == 0 and "inception_fid 12.35" in out and "judge_fd 3.25" in out, err
    html = write_report([run], tmp_path / "report.html").read_text()
    assert "mnist test vs folder:/photos" in html and "12.3456" in html
    assert "inception-fid: samples 3000, samples_from drawn with &#39;prior&#39;, reference folder /photos" in html
    assert REAL_SHA256 in html
