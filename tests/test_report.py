"""``genkit report`` and ``genkit runs`` filters: the page opened in headless Chromium, and the
page's content for runs of different models, statuses and escaping, from run directories."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from browser import CHROMIUM_FLAGS, chromium

import genkit
from genkit.report import write_report

# Put into a copy of the page in the test only: records, once the page has loaded, which
# images failed to decode and any script error, where --dump-dom shows them.
LOAD_PROBE = """<script>
window.__errors = [];
window.addEventListener('error', e => window.__errors.push(String(e.message || e.type)), true);
window.addEventListener('load', () => {
  const broken = [...document.images].filter(i => !i.complete || i.naturalWidth === 0).map(i => i.alt);
  document.body.setAttribute('data-loaded', 'yes');
  document.body.setAttribute('data-broken-images', broken.join('|'));
  document.body.setAttribute('data-errors', window.__errors.join('|'));
});
</script>"""


def test_report_of_two_runs_in_headless_chromium(tiny, tmp_path, quiet, cli):
    browser = chromium()
    runs = []
    for latent in (2, 8):
        result = genkit.train(
            "vae",
            overrides={"train.dataset": tiny, "train.epochs": 1, "model.latent_dim": latent},
            out=tmp_path / f"vae-z{latent}",
            reporter=quiet,
        )
        genkit.score(result.run.path, ["elbo"], limit=64, device="cpu")
        runs.append(result.run.path)
    page = tmp_path / "report.html"
    code, out, err = cli("report", *map(str, runs), "--out", str(page))
    assert code == 0 and "wrote" in out, err
    html = page.read_text()
    assert not re.search(
        r"""(src|href)\s*=\s*["'](?!data:|#)""", html
    )  # every picture is embedded: no network, no other file

    probed = tmp_path / "probed.html"
    probed.write_text(html.replace("<head>", "<head>" + LOAD_PROBE, 1))  # first, to hear every error
    common = [browser, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000"]
    dump = subprocess.run([*common, "--dump-dom", probed.as_uri()], capture_output=True, text=True, timeout=120)
    assert dump.returncode == 0, dump.stderr[-2000:]
    dom = dump.stdout
    body = re.search(r"<body([^>]*)>", dom).group(1)
    assert 'data-loaded="yes"' in body and 'data-broken-images=""' in body and 'data-errors=""' in body, body
    grids = re.findall(r'<img class="grid"[^>]*alt="samples of ([^"(]+?) \(', dom)
    assert grids == ["vae-z2", "vae-z8"]
    table = re.search(r'<table id="scores">.*?</table>', dom, re.S).group(0)
    assert "neg_elbo_nats" in table and "vae-z2" in table and "vae-z8" in table
    assert len(re.findall(r'<td class="num">\d+\.\d{4}</td>', table)) >= 4  # every run has its scores

    shot = tmp_path / "report.png"
    subprocess.run(
        [*common, "--window-size=1280,1600", f"--screenshot={shot}", page.as_uri()],
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000


def make_run(
    root: Path,
    name: str,
    model: str,
    dataset: str,
    terms: list[str],
    status: dict,
    scores=None,
    grid=None,
    config_extra=None,
) -> Path:
    run = root / name
    run.mkdir(parents=True)
    (run / "manifest.json").write_text(
        json.dumps(
            {
                "model": model,
                "dataset": dataset,
                "epochs": 3,
                "monitor": terms[0],
                "created": f"2026-11-24T10:00:0{len(list(root.iterdir()))}",
            }
        )
    )
    (run / "config.json").write_text(
        json.dumps({"model": {"name": model, **(config_extra or {})}, "train": {"epochs": 3, "lr": 0.001}})
    )
    rows = [
        {
            "epoch": e,
            "train": {t: 10.0 / e for t in terms},
            "val": {t: 11.0 / e for t in terms},
            "seconds": 1.0,
            "images_per_second": 100.0,
        }
        for e in (1, 2)
    ]
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (run / "status.json").write_text(json.dumps(status))
    if scores is not None:
        (run / "scores.json").write_text(json.dumps(scores))
    for file in grid or []:
        (run / file).write_bytes(png_bytes(file))
    return run


def png_bytes(label: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import io

    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(1, 1))
    fig.text(0.5, 0.5, label[:3])
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


def test_report_compares_models_on_shared_terms_and_shows_status(tmp_path):
    vae = make_run(
        tmp_path / "runs",
        "vae-a",
        "vae",
        "mnist",
        ["neg_elbo", "kl"],
        {"status": "finished", "epoch": 2, "step": 0},
        scores=[
            {"dataset": "mnist", "metrics": {"neg_elbo_nats": 120.0}},
            {"dataset": "mnist", "metrics": {"neg_elbo_nats": 99.5}},
        ],
        grid=["samples_start.png", "samples_epoch1.png", "samples_end.png"],
        config_extra={"note": "<script>alert(1)</script>"},
    )
    gan = make_run(
        tmp_path / "runs",
        "gan-b",
        "gan",
        "mnist",
        ["g_loss", "kl"],
        {"status": "diverged", "epoch": 1, "step": 40, "reason": "g_loss = nan"},
    )
    page = write_report([vae, gan], tmp_path / "out" / "report.html")
    html = page.read_text()
    shared, some = html.split("Terms only some runs log")
    assert 'alt="kl"' in shared and 'alt="neg_elbo"' not in shared  # compared on the term both log
    assert 'alt="neg_elbo"' in some and 'alt="g_loss"' in some
    assert "diverged (g_loss = nan); last good state at epoch 1, step 40" in html
    assert (
        html.count('class="grid"') == 1
        and 'alt="samples of vae-a (samples_end.png)"' in html
        and "no sample grid" in html
    )
    assert "99.5000" in html and "120.0000" not in html  # the latest score of each metric
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_last_grid_prefers_end_then_latest_epoch(tmp_path):
    from genkit.report.collect import last_grid

    for name in ("samples_start.png", "samples_epoch2.png", "samples_epoch10.png"):
        (tmp_path / name).write_bytes(b"")
    assert last_grid(tmp_path).name == "samples_epoch10.png"
    (tmp_path / "samples_end.png").write_bytes(b"")
    assert last_grid(tmp_path).name == "samples_end.png"


def test_report_shows_a_resumed_runs_epochs_and_the_grid_genkit_sample_wrote(tiny, tmp_path, cli):
    run = tmp_path / "vae"
    cfg = ["--dataset", tiny, "--epochs", "1", "--set", "train.val_size=32", "--set", "model.hidden=16"]
    assert cli("train", "vae", "--out", run, *cfg).code == 0
    assert cli("train", "--resume", run, "--epochs", "2").code == 0
    # A model training drew no grid of (no default sampler), sampled afterwards with a sampler named for it.
    sampled = make_run(tmp_path / "runs", "pixels-1", "pixels", "mnist", ["nll"], {"status": "finished"})
    sampled.joinpath("samples.png").write_bytes(png_bytes("samples.png"))
    page = tmp_path / "report.html"
    code, _, err = cli("report", run, sampled, "--out", page)
    assert code == 0, err
    html = page.read_text()
    assert "<b>vae</b> on tiny &middot; 2/2 epochs" in html
    epochs_row = re.search(r"<tr[^>]*><td>train\.epochs</td>(.*?)</tr>", html, re.S).group(1)
    assert re.findall(r'<td class="value">([^<]*)</td>', epochs_row)[0] == "2"  # config.json of the resumed run
    assert 'alt="samples of pixels-1 (samples.png)"' in html


def test_report_errors_are_one_line(tmp_path, cli):
    code, _, err = cli("report", str(tmp_path))
    assert code == 1 and err.startswith("error:") and "not a run directory" in err
    run = make_run(tmp_path / "runs", "vae-a", "vae", "mnist", ["loss"], {"status": "finished"})
    code, _, err = cli("report", str(run), str(run))
    assert code == 1 and "named twice" in err


def test_runs_filters_and_json(tmp_path, cli, monkeypatch):
    root = tmp_path / "runs"
    monkeypatch.setenv("GENKIT_RUNS_DIR", str(root))
    make_run(root, "vae-1", "vae", "mnist", ["loss"], {"status": "finished"})
    make_run(root, "vae-2", "vae", "fashion-mnist", ["loss"], {"status": "interrupted"})
    make_run(root, "gan-1", "gan", "mnist", ["loss"], {"status": "diverged"})

    def listed(*args):
        code, out, err = cli("runs", "--json", *args)
        assert code == 0, err
        return sorted(Path(r["path"]).name for r in json.loads(out))

    assert listed() == ["gan-1", "vae-1", "vae-2"]
    assert listed("--model", "vae") == ["vae-1", "vae-2"]
    assert listed("--dataset", "mnist") == ["gan-1", "vae-1"]
    assert listed("--status", "diverged") == ["gan-1"]
    assert listed("--model", "vae", "--dataset", "mnist", "--status", "finished") == ["vae-1"]
    assert listed("--model", "vae", "--status", "diverged") == []
    code, _, err = cli("runs", "--status", "broken")
    assert code == 1 and "unknown run status 'broken'" in err


@pytest.mark.parametrize("args", [["report", "--help"], ["runs", "--status", "finished", "--json"]])
def test_report_help_and_runs_filters_import_nothing_heavy(args, tmp_path):
    """matplotlib and jinja2 load only when a report is written."""
    from test_front_door import HEAVY, imported_modules, run_genkit

    proc = run_genkit(*args, env={"GENKIT_RUNS_DIR": str(tmp_path)}, importtime=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert not imported_modules(proc.stderr) & {*HEAVY, "jinja2", "tensorboard"}
