"""Untrusted input never escapes as an exception: random mutations of a real
checkpoint's metadata and of a config file end in success or one error line, exit 1."""

import json
import math
import random
import subprocess
import sys
from pathlib import Path

import pytest
from safetensors.torch import load_file, save_file

import genkit
from genkit.api import training as training_api
from genkit.artifacts import DIGEST_KEY, tensor_digest
from genkit.cli import main
from genkit.errors import GenkitError

REPO = Path(__file__).resolve().parents[1]
CASES = 200
ODD_VALUES = [
    None,
    True,
    0,
    -1,
    7,
    10**30,
    1.5,
    -0.0,
    math.inf,
    "",
    "28",
    "[1, 28, 28]",
    "vae",
    [],
    [1],
    [1, 28],
    [1, 28, 28, 1],
    ["a", "b", "c"],
    {},
    {"name": "x"},
    {"shape": [1, 28, 28]},
    "genkit-checkpoint/2",
    "genkit-checkpoint/x",
]


def header(tensors, meta) -> dict[str, str]:
    """A checkpoint header holding ``meta``, with the digest of the (unchanged) tensors genkit checks."""
    return {"genkit": json.dumps(meta), DIGEST_KEY: tensor_digest(tensors)}


def run_cli(capsys, *args) -> tuple[int, str]:
    code = 0
    try:
        main([str(a) for a in args])
    except SystemExit as exc:
        code = exc.code or 0
    err = capsys.readouterr().err
    if code:
        assert code == 1, err
        lines = [line for line in err.strip().splitlines() if line.strip()]
        assert "Traceback" not in err and lines and lines[0].startswith("error:"), err
        assert "--debug" not in err, err  # a GenkitError's own line, not an internal exception caught by the CLI
    return code, err


def paths(tree, prefix=()):
    """Every (path, value) in a JSON tree, the root included."""
    yield prefix, tree
    if isinstance(tree, dict):
        for k, v in tree.items():
            yield from paths(v, prefix + (k,))
    elif isinstance(tree, list):
        for i, v in enumerate(tree):
            yield from paths(v, prefix + (i,))


def mutate(tree, rng: random.Random):
    """A copy of a JSON tree with one to three random edits: a value replaced, a key removed or added."""
    tree = json.loads(json.dumps(tree))
    for _ in range(rng.randint(1, 3)):
        found = [p for p, _ in paths(tree) if p]
        path = rng.choice(found)
        parent = tree
        for key in path[:-1]:
            parent = parent[key]
        action = rng.random()
        if action < 0.15 and isinstance(parent, dict):
            del parent[path[-1]]
        elif action < 0.25 and isinstance(parent, dict):
            parent[rng.choice(["extra", "name", "shape", "epoch"])] = rng.choice(ODD_VALUES)
        else:
            parent[path[-1]] = json.loads(json.dumps(rng.choice(ODD_VALUES), allow_nan=True))
    return tree


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    from conftest import register_tiny

    from genkit.training.reporting import Reporter

    register_tiny()
    out = tmp_path_factory.mktemp("fuzz") / "run"
    genkit.train(
        "vae",
        overrides={
            "train.dataset": "tiny",
            "train.epochs": 1,
            "train.val_size": 64,
            "model.hidden": 8,
            "model.latent_dim": 2,
        },
        reporter=Reporter(),
        out=out,
    )
    return out / "checkpoints" / "last.safetensors"


def test_mutated_checkpoint_metadata_is_one_line_or_loads(checkpoint, tmp_path, capsys):
    from safetensors import safe_open

    tensors = load_file(str(checkpoint))
    with safe_open(str(checkpoint), framework="pt") as f:
        meta = json.loads(f.metadata()["genkit"])
    rng = random.Random(0)
    refused = 0
    for case in range(CASES):
        bad = mutate(meta, rng)
        path = tmp_path / f"case{case % 4}.safetensors"
        save_file(tensors, str(path), metadata=header(tensors, bad))
        code, _ = run_cli(capsys, "info", path, "--json")
        refused += code == 1
        if case % 10 == 0:
            run_cli(capsys, "sample", path, "-n", "2", "--device", "cpu", "--out", tmp_path / "s.png")
    assert refused > CASES // 2  # most edits break something, and each was one line


@pytest.mark.parametrize(
    "bad, expected",
    [
        ({"data": {"name": "tiny", "shape": "[1, 28, 28]"}}, "data.shape"),
        ({"data": {"name": "tiny", "shape": [1, 28]}}, "data.shape"),
        ({"model": ["vae"]}, "'model'"),
        ({"model_config": ["a"]}, "model_config"),
        ({"progress": "3"}, "progress"),
        ({"format": "genkit-checkpoint/9", "versions": {"genkit": "9.0"}}, "format 9 (written by genkit 9.0)"),
    ],
)
def test_wrong_shapes_in_metadata_are_named(checkpoint, tmp_path, capsys, bad, expected):
    from safetensors import safe_open

    with safe_open(str(checkpoint), framework="pt") as f:
        meta = {**json.loads(f.metadata()["genkit"]), **bad}
    path = tmp_path / "bad.safetensors"
    tensors = load_file(str(checkpoint))
    save_file(tensors, str(path), metadata=header(tensors, meta))
    for command in (["info", path], ["score", path, "--limit", "8"], ["train", "--resume", path]):
        code, err = run_cli(capsys, *command)
        assert code == 1 and expected in " ".join(err.split())


def to_toml(table: dict, inline: bool = False) -> str:
    def value(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, float):
            return "inf" if v == math.inf else "-inf" if v == -math.inf else repr(v)
        if isinstance(v, (int, str)):
            return json.dumps(v)
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v if x is not None) + "]"
        if isinstance(v, dict):
            return "{" + ", ".join(f"{json.dumps(k)} = {value(x)}" for k, x in v.items() if x is not None) + "}"
        return '""'

    scalars = [f"{json.dumps(k)} = {value(v)}" for k, v in table.items() if not isinstance(v, dict) and v is not None]
    tables = [
        f"[{json.dumps(k)}]\n" + "\n".join(f"{json.dumps(k2)} = {value(v2)}" for k2, v2 in v.items() if v2 is not None)
        for k, v in table.items()
        if isinstance(v, dict)
    ]
    return "\n".join(scalars + tables) + "\n"


class Accepted(GenkitError):
    """Raised in place of training: the config passed every check."""


def test_mutated_config_files_are_one_line_or_accepted(tmp_path, capsys, monkeypatch):
    import tomllib

    def accept(*args, **kwargs):
        raise Accepted("accepted")

    monkeypatch.setattr(training_api, "_train", accept)
    base = tomllib.loads((REPO / "examples" / "configs" / "vae-mnist.toml").read_text())
    base["train"]["device"] = "cpu"
    rng = random.Random(1)
    path = tmp_path / "c.toml"
    accepted = 0
    for case in range(CASES):
        text = to_toml(mutate(base, rng))
        if case % 5 == 0:  # byte-level damage too
            i = rng.randrange(len(text))
            text = text[:i] + rng.choice(["[", "]", "=", '"', "\n", "\xff", ""]) + text[i + 1 :]
        path.write_bytes(text.encode("utf-8", "surrogateescape"))
        code, err = run_cli(capsys, "train", "--config", path)
        assert code == 1
        accepted += "accepted" in err
    assert 0 < accepted < CASES


@pytest.mark.parametrize(
    "text, expected",
    [
        ('model = "vae"\n', "[model] must be a table"),
        ("model = [1, 2]\n", "[model] must be a table"),
        ("[model]\nname = 3\n", "model.name must be a string"),
        ('train = 5\n[model]\nname = "vae"\n', "[train] must be a table"),
    ],
)
def test_config_tables_of_the_wrong_type(tmp_path, capsys, text, expected):
    path = tmp_path / "c.toml"
    path.write_text(text)
    code, err = run_cli(capsys, "train", "--config", path)
    assert code == 1 and expected in err


def test_real_processes_print_one_line(checkpoint, tmp_path):
    from safetensors import safe_open

    with safe_open(str(checkpoint), framework="pt") as f:
        meta = json.loads(f.metadata()["genkit"])
    bad_ckpt = tmp_path / "bad.safetensors"
    tensors = load_file(str(checkpoint))
    save_file(tensors, str(bad_ckpt), metadata=header(tensors, {**meta, "data": {"name": "x", "shape": "1x28x28"}}))
    bad_cfg = tmp_path / "c.toml"
    bad_cfg.write_text('model = "vae"\n')
    for args in (["info", bad_ckpt], ["train", "--config", bad_cfg]):
        proc = subprocess.run(
            [sys.executable, "-m", "genkit", *map(str, args)], capture_output=True, text=True, timeout=120
        )
        assert proc.returncode == 1 and "Traceback" not in proc.stderr
        assert proc.stderr.strip().startswith("error:"), proc.stderr


@pytest.mark.parametrize(
    "damage", ["[1, 2]", '"text"', "{", "\xff\xfe", "null", '{"model": 3, "epochs": "x", "monitor": []}']
)
def test_damaged_run_files_never_crash_runs_or_info(checkpoint, tmp_path, capsys, damage, monkeypatch):
    import shutil

    run = tmp_path / "runs" / "vae-damaged"
    shutil.copytree(checkpoint.parent.parent, run)
    monkeypatch.setenv("GENKIT_RUNS_DIR", str(tmp_path / "runs"))
    for name in ("manifest.json", "status.json", "scores.json", "metrics.jsonl"):
        (run / name).write_bytes(damage.encode("utf-8", "surrogateescape"))
    for command in (["runs"], ["runs", "--json"], ["info", run], ["info", run, "--json"]):
        code, err = run_cli(capsys, *command)
        assert code == 0, err
