"""``genkit explore`` as a user meets it: the console script serves two tiny runs (a VAE with a 2-D
latent and a CVAE conditioned on the middle column), and headless Chromium drives the page.

The runs are trained once for the module on the ``tiny`` dataset; the server reads their test
images from the embedded MNIST subset (``tiny``'s own test images are its first 256), since a
dataset registered in this process does not exist in the server's.
"""

from __future__ import annotations

import base64
import io
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import NamedTuple

import pytest
from browser import chromium_driver

VAE, CVAE = "vae-2d", "cvae-column"
SERVE_SECONDS = 300  # start-up imports torch; on a loaded machine that alone can take a minute


class Served(NamedTuple):
    url: str
    process: subprocess.Popen
    stdout: list[str]
    stderr: list[str]
    digit_png: bytes  # a test image the server does not list among its first 256


def _genkit_script() -> str:
    found = shutil.which("genkit", path=str(Path(sys.executable).parent)) or shutil.which("genkit")
    if not found:
        pytest.skip("the genkit console script is not installed in this environment")
    return found


def _lines(stream, into: list[str], found: queue.Queue) -> None:
    for line in stream:
        into.append(line)
        found.put(line)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    pytest.importorskip("starlette", reason="genkit[explore] is not installed")
    from conftest import register_tiny
    from PIL import Image

    import genkit
    from genkit.data.sources import EMBEDDED_ROOT
    from genkit.plugins import reset_plugin_manager

    root = tmp_path_factory.mktemp("explore")
    env = {
        "GENKIT_RUNS_DIR": str(root / "runs"),
        "GENKIT_CACHE_DIR": str(root / "cache"),
        "GENKIT_OFFLINE": "1",
    }
    tiny = {"train.dataset": "tiny", "train.epochs": 1, "train.val_size": 64, "train.grid_samples": 4}
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        reset_plugin_manager()
        register_tiny()
        quiet = genkit.Reporter()
        for name, model, settings in (
            (VAE, "vae", {"model.latent_dim": 2, "model.hidden": 32}),
            (CVAE, "cvae", {"model.condition": "column", "model.hidden": 32}),
        ):
            genkit.train(model, overrides={**tiny, **settings}, out=root / name, reporter=quiet)
        digit = genkit.load_dataset("mnist", str(EMBEDDED_ROOT)).test_x[300, 0].numpy()
        reset_plugin_manager()
    buffer = io.BytesIO()
    Image.fromarray(digit).save(buffer, format="PNG")

    command = [
        _genkit_script(),
        "explore",
        str(root / VAE),
        str(root / CVAE),
        "--dataset",
        "mnist",
        "--data-dir",
        str(EMBEDDED_ROOT),
        "--limit",
        "256",
        "--samples",
        "10",
        "--device",
        "cpu",
    ]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env, "COLUMNS": "200"},
    )
    stdout, stderr, seen = [], [], queue.Queue()
    for stream, into in ((process.stdout, stdout), (process.stderr, stderr)):
        threading.Thread(target=_lines, args=(stream, into, seen), daemon=True).start()
    url, deadline = None, time.monotonic() + SERVE_SECONDS
    while url is None and time.monotonic() < deadline and process.poll() is None:
        try:
            line = seen.get(timeout=1)
        except queue.Empty:
            continue
        if line.startswith("serving "):
            url = line.split(" at ", 1)[1].split()[0]
    if url is None:
        process.kill()
        pytest.fail(f"genkit explore did not start: {''.join(stdout + stderr)[-3000:]}")
    yield Served(url, process, stdout, stderr, buffer.getvalue())
    if process.poll() is None:
        process.kill()
        process.wait(10)


@pytest.fixture(scope="module")
def browser(served, tmp_path_factory):
    driver = chromium_driver(tmp_path_factory.mktemp("profile"))
    driver.set_script_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture
def page(browser, served):
    browser.get(served.url)
    ready(browser, VAE, "samples")
    ready(browser, VAE, "latent")
    return browser


def panel(driver, run: str, name: str):
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, f'article[data-run="{run}"] section.{name}')


def ready(driver, run: str, name: str, also=lambda section: True, timeout: float = 60):
    """The panel once it shows a finished result that passes ``also`` (its error, if it fails)."""
    from selenium.webdriver.support.ui import WebDriverWait

    def check(d):
        section = panel(d, run, name)
        state = section.get_attribute("data-state")
        if state == "error":
            raise AssertionError(f"{run} {name}: {section.text}")
        return section if state == "ready" and also(section) else False

    return WebDriverWait(driver, timeout, poll_frequency=0.05).until(check)


def sources(section) -> list[str]:
    from selenium.webdriver.common.by import By

    return [img.get_attribute("src") for img in section.find_elements(By.CSS_SELECTOR, "img")]


def drop(driver, data: bytes, name: str) -> None:
    """Drop a file with ``data`` on the page's drop zone, as a drag from the desktop does."""
    driver.execute_script(
        """
        const bytes = Uint8Array.from(atob(arguments[0]), (c) => c.charCodeAt(0));
        const transfer = new DataTransfer();
        transfer.items.add(new File([bytes], arguments[1]));
        document.getElementById('drop').dispatchEvent(
          new DragEvent('drop', {dataTransfer: transfer, bubbles: true, cancelable: true}));
        """,
        base64.b64encode(data).decode(),
        name,
    )


def upload_status(driver, timeout: float = 30) -> tuple[str, str]:
    from selenium.webdriver.support.ui import WebDriverWait

    def check(d):
        status = d.find_element("id", "upload-status")
        state = status.get_attribute("data-state")
        return (state, status.text) if state in ("ready", "error") else False

    return WebDriverWait(driver, timeout, poll_frequency=0.05).until(check)


def post(driver, body: dict) -> tuple[int, dict]:
    """POST ``body`` to the job API from the page, as its own script does."""
    return driver.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        fetch('/api/jobs', {method: 'POST', headers: {'Content-Type': 'application/json'},
                            body: JSON.stringify(arguments[0])})
          .then(async (r) => done([r.status, await r.json()]))
          .catch((e) => done([0, {error: String(e)}]));
        """,
        body,
    )


def test_a_new_seed_draws_a_new_grid_and_an_old_seed_the_old_one(page):
    from selenium.webdriver.common.keys import Keys

    grid = ready(page, VAE, "samples")
    first, seed = sources(grid), grid.get_attribute("data-seed")
    assert len(first) == 16 and all(s.startswith("data:image/png") for s in first)
    page.find_element("id", "new-seed").click()
    grid = ready(page, VAE, "samples", also=lambda s: s.get_attribute("data-seed") != seed)
    second = sources(grid)
    assert second != first and len(second) == 16
    assert float(grid.get_attribute("data-ms")) > 0
    box = page.find_element("id", "seed")
    box.clear()
    box.send_keys(seed, Keys.TAB)  # a change event, as typing and leaving the field gives
    grid = ready(page, VAE, "samples", also=lambda s: s.get_attribute("data-seed") == seed)
    assert sources(grid) == first


def test_only_the_options_a_sampler_takes_are_offered(page):
    from selenium.webdriver.common.by import By

    options = page.find_element("id", "options")
    offered = [i.get_attribute("id") for i in options.find_elements(By.CSS_SELECTOR, "input, select")]
    assert offered == ["option-temperature"]  # the prior sampler takes a temperature, no steps or guidance
    notes = page.find_element("id", "refusals").text
    assert "cvae-column" not in notes  # it cannot sample at all, which its own column says
    column = page.find_element(By.CSS_SELECTOR, f'article[data-run="{CVAE}"]')
    assert "'cvae' needs a 'column' condition to sample" in column.text


def test_a_slider_moves_the_latent_image(page):
    from selenium.webdriver.common.keys import Keys

    section = ready(page, VAE, "latent", also=lambda s: s.find_element("css selector", "img.big").get_attribute("src"))
    before = section.find_element("css selector", "img.big").get_attribute("src")
    slider = section.find_element("css selector", 'input[type="range"]')
    slider.send_keys(*[Keys.ARROW_RIGHT] * 12)  # the keyboard moves a range input step by step
    section = ready(
        page, VAE, "latent", also=lambda s: s.find_element("css selector", "img.big").get_attribute("src") != before
    )
    assert "moved 1.2" in section.text


def test_two_clicked_samples_and_two_classes_interpolate(page):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    tiles = ready(page, VAE, "samples").find_elements(By.CSS_SELECTOR, ".tile")
    tiles[0].click()
    tiles[5].click()
    path = ready(page, VAE, "interpolation", also=lambda s: len(sources(s)) == 9)
    assert "linear, between samples 1 and 6" in path.text
    Select(page.find_element("id", "method")).select_by_value("spherical")
    Select(page.find_element("id", "from-class")).select_by_value("1")
    Select(page.find_element("id", "to-class")).select_by_value("7")
    page.find_element("id", "interpolate-classes").click()
    path = ready(page, VAE, "interpolation", also=lambda s: "class 1 and 7" in s.text)
    assert "spherical, between test images of class 1 and 7" in path.text and len(sources(path)) == 9


def test_a_dropped_image_is_scored_against_the_test_images_and_completed(page, served):
    drop(page, served.digit_png, "digit.png")
    assert upload_status(page) == ("ready", "digit.png: 28 x 28 pixels")
    for run in (VAE, CVAE):
        scored = ready(page, run, "likelihood", also=lambda s: s.get_attribute("data-value"))
        assert "bits per binarized pixel" in scored.text and "of 256 test images score lower" in scored.text
        histogram = scored.find_element("css selector", "img.histogram")
        assert page.execute_script("return arguments[0].naturalWidth", histogram) > 100
    completed = ready(page, CVAE, "completion", also=lambda s: len(sources(s)) == 7)  # observed, 5, the image
    assert "5 completions" in completed.text


def test_a_picked_test_image_is_scored(page):
    tests = ready(page, VAE, "test-images")
    tile = tests.find_elements("css selector", ".tile")[2]
    index = tile.get_attribute("data-index")
    tile.click()
    scored = ready(page, VAE, "likelihood", also=lambda s: s.get_attribute("data-value"))
    assert float(scored.get_attribute("data-value")) > 0
    latent = ready(page, VAE, "latent", also=lambda s: f"test image {index}" in s.text)
    assert f"from the code of test image {index}" in latent.text


@pytest.mark.parametrize(
    "body, status, message",
    [
        ({"action": "sample", "run": "no-such-run"}, 404, "no run 'no-such-run' is served here (served: vae-2d"),
        ({"action": "sample", "run": "../../../etc/passwd"}, 404, "no run '../../../etc/passwd' is served here"),
        ({"action": "score", "run": VAE, "image": {"path": "/etc/passwd"}}, 400, "unknown parameter 'image.path'"),
        ({"action": "score", "run": VAE, "image": {"upload": "../x"}}, 400, "parameter 'image.upload'"),
        ({"action": "sample", "run": VAE, "sampler": "/etc/passwd"}, 400, "unknown sampler '/etc/passwd'"),
        ({"action": "sample", "run": VAE, "out": "/tmp/x.png"}, 400, "unknown parameter 'out'"),
        ({"action": "sample", "run": VAE, "steps": 20}, 400, "--steps does not apply to sampler 'prior'"),
        ({"action": "sample", "run": VAE, "label": 3}, 400, "'vae' takes no class label"),
        ({"action": "manifold", "run": CVAE}, 400, "the manifold of a conditional model is not supported"),
        ({"action": "sample", "run": VAE, "seed": "../../x"}, 400, "parameter 'seed'"),
        ({"action": "rm", "run": VAE}, 400, "unknown action 'rm'"),
    ],
)
def test_bad_requests_get_one_clear_line(browser, served, body, status, message):
    browser.get(served.url)
    code, answer = post(browser, body)
    assert code == status and message in answer["error"], answer
    assert "\n" not in answer["error"]


def test_bad_uploads_are_refused_and_the_server_keeps_serving(page, served):
    drop(page, b"\0" * (2 * 1024 * 1024 + 1), "huge.png")
    assert upload_status(page) == ("error", "error: an image may be at most 2048 KiB")
    drop(page, b"hello, not an image", "notes.png")
    not_an_image = "error: the upload is not an image genkit reads (PNG, JPEG, GIF, WebP or BMP)"
    assert upload_status(page) == ("error", not_an_image)
    drop(page, served.digit_png[:60], "cut.png")
    state, text = upload_status(page)
    assert state == "error" and text.startswith("error: the image is damaged")
    grid = ready(page, VAE, "samples")
    seed = grid.get_attribute("data-seed")
    page.find_element("id", "new-seed").click()
    ready(page, VAE, "samples", also=lambda s: s.get_attribute("data-seed") != seed)  # still serving
    assert served.process.poll() is None


def test_requests_for_another_host_or_from_another_origin_are_refused(served):
    def status(request) -> int:
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return answer.status
        except urllib.error.HTTPError as error:
            return error.code

    runs = served.url + "api/runs"
    assert status(urllib.request.Request(runs)) == 200
    assert status(urllib.request.Request(runs, headers={"Host": "attacker.example:80"})) == 403
    sample = json.dumps({"action": "sample", "run": VAE}).encode()
    headers = {"Content-Type": "application/json", "Origin": "http://attacker.example"}
    assert status(urllib.request.Request(served.url + "api/jobs", data=sample, headers=headers)) == 403
    headers = {"Content-Type": "text/plain"}  # what a form on another site could send without asking
    assert status(urllib.request.Request(served.url + "api/jobs", data=sample, headers=headers)) == 415


def test_ctrl_c_stops_the_server_cleanly(served, browser):
    served.process.send_signal(signal.SIGINT)
    assert served.process.wait(30) == 0
    time.sleep(0.2)  # the reader threads take the last lines
    assert "stopped" in "".join(served.stdout)
    assert "Traceback" not in "".join(served.stderr), "".join(served.stderr)[-2000:]
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(served.url, timeout=5)
