"""``genkit explore`` without a browser: what an upload may be, what a request may say, the one-worker
queue, and the command's one-line errors. The page itself is driven in test_explore_browser.py."""

from __future__ import annotations

import asyncio
import io
import socket
import struct
import threading
import time
import zlib

import pytest
import torch

pytest.importorskip("starlette", reason="genkit[explore] is not installed")


def png_announcing(width: int, height: int) -> bytes:
    """A small PNG whose header announces ``width`` x ``height`` pixels (its data is a few bytes)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
    return b"\x89PNG\r\n\x1a\n" + header + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def encoded(mode: str, size: tuple[int, int], fmt: str) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new(mode, size, (128,) * len(mode)).save(buffer, format=fmt)
    return buffer.getvalue()


def test_uploads_are_decoded_in_memory_or_refused_in_one_line():
    from genkit.explore.images import UploadError, decode_upload, fit_image

    image = decode_upload(encoded("RGB", (40, 30), "PNG"))
    x = fit_image(image, (1, 28, 28))
    assert x.shape == (1, 1, 28, 28) and x.dtype == torch.uint8 and int(x[0, 0, 0, 0]) == 128
    assert fit_image(decode_upload(encoded("L", (28, 28), "GIF")), (3, 32, 32)).shape == (1, 3, 32, 32)
    refused = {
        b"": "the upload is empty",
        b"%PDF-1.4 not an image": "not an image genkit reads",
        png_announcing(5000, 5000): "the image is 5000x5000 pixels; at most 16,777,216",  # before decoding
        png_announcing(100_000, 100_000): "huge size; at most 16,777,216 pixels",
        encoded("L", (64, 64), "PNG")[:70]: "damaged",
        encoded("L", (8, 8), "TIFF"): "not an image genkit reads",  # a format that is not accepted
    }
    for data, message in refused.items():
        with pytest.raises(UploadError) as caught:
            decode_upload(data)
        assert message in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize(
    "body, message",
    [
        ({"run": "a"}, "parameter 'action' is missing (one of: sample, interpolate"),
        ({"action": "delete", "run": "a"}, "unknown action 'delete'"),
        ({"action": "sample", "run": "a", "path": "/etc/passwd"}, "unknown parameter 'path'"),
        ({"action": "sample", "run": "a", "n": 65}, "parameter 'n': Input should be less than or equal to 64"),
        ({"action": "sample", "run": "a", "temperature": -1}, "parameter 'temperature'"),
        ({"action": "score", "run": "a", "image": {}}, "an image needs exactly one of test, upload"),
        ({"action": "score", "run": "a", "image": {"test": 1, "upload": "0" * 32}}, "exactly one of test, upload"),
        ({"action": "move", "run": "a", "base": {"mean": True}, "offsets": [9]}, "parameter 'offsets.0'"),
        (
            {"action": "interpolate", "run": "a", "samples": {"seed": 0, "n": 4, "first": 1, "second": 1}},
            "pick two different samples",
        ),
        ({"action": "interpolate", "run": "a", "samples": {"seed": 0, "n": 4, "first": 0, "second": 7}}, "grid of 4"),
        ({"action": "sample", "run": "a", "slot": "../x y"}, "parameter 'slot'"),
        (["sample"], "a request is a JSON object"),
    ],
)
def test_requests_are_checked_before_any_work(body, message):
    from genkit.explore.requests import RequestError, parse_request

    with pytest.raises(RequestError) as caught:
        parse_request(body)
    assert message in str(caught.value)


def test_the_queue_runs_one_job_at_a_time_in_order_and_a_newer_slot_replaces_a_waiting_one():
    from genkit.explore.jobs import JobQueue, QueueFull

    loop = asyncio.new_event_loop()
    jobs = JobQueue(limit=3)
    jobs.start(loop)
    release, running, order = threading.Event(), [], []

    def blocking(progress):
        running.append(len(running))
        progress(1, 2)
        release.wait(30)
        return {"job": "first"}

    def record(name):
        def work(progress):
            order.append(name)
            return {"job": name}

        return work

    try:
        first = jobs.submit(blocking)
        while jobs.snapshot(first)["state"] != "running":
            time.sleep(0.01)
        assert jobs.snapshot(first)["progress"] == {"done": 1, "total": 2}
        dragged = [jobs.submit(record(f"move {i}"), slot="run:move") for i in range(3)]
        other = jobs.submit(record("sample"), slot="run:samples")
        assert [jobs.snapshot(j)["state"] for j in dragged] == ["superseded", "superseded", "queued"]
        assert jobs.snapshot(other)["ahead"] == 2  # the running job and the last move
        jobs.submit(record("tests"))
        with pytest.raises(QueueFull):
            jobs.submit(record("one too many"))
        release.set()
        deadline = time.monotonic() + 30
        while not other.over and time.monotonic() < deadline:
            time.sleep(0.01)
        assert order[:2] == ["move 2", "sample"] and running == [0]
        assert jobs.snapshot(other) | {"seconds": 0} == {
            "job": other.id,
            "state": "done",
            "version": other.version,
            "ahead": 0,
            "progress": None,
            "result": {"job": "sample"},
            "seconds": 0,
        }
    finally:
        release.set()
        jobs.stop()
        loop.close()


def test_a_failing_job_is_one_line_naming_who_raised_it_and_the_worker_goes_on():
    from genkit.explore.jobs import JobQueue

    loop = asyncio.new_event_loop()
    jobs = JobQueue()
    jobs.start(loop)

    def broken(progress):
        raise ZeroDivisionError("division by zero\nsecond line")

    try:
        failed, fine = jobs.submit(broken), jobs.submit(lambda progress: {"ok": True})
        deadline = time.monotonic() + 30
        while not fine.over and time.monotonic() < deadline:
            time.sleep(0.01)
        assert jobs.snapshot(failed)["error"] == "genkit raised ZeroDivisionError: division by zero"
        assert jobs.snapshot(fine)["result"] == {"ok": True}
    finally:
        jobs.stop()
        loop.close()


def test_without_the_extra_explore_says_which_extra_to_install(cli, monkeypatch):
    import genkit.explore

    monkeypatch.setattr(genkit.explore, "EXTRA_MODULES", ("starlette", "no_such_web_module"))
    code, out, err = cli("explore", "vae")
    assert code == 1
    assert err.strip().splitlines() == [
        "error: genkit explore needs the optional web stack (no_such_web_module not installed): pip install "
        "'genkit[explore]'"
    ]


def test_a_busy_port_is_one_line_before_any_model_loads(cli):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        code, out, err = cli("explore", "no-such-run", "--port", str(port))
    assert code == 1
    assert f"port {port} on 127.0.0.1 is in use; choose another --port" in err and len(err.strip().splitlines()) == 1


def test_only_loopback_is_served_without_a_warning():
    from genkit.explore.server import host_warning

    assert host_warning("127.0.0.1") is None and host_warning("localhost") is None and host_warning("::1") is None
    warning = host_warning("0.0.0.0")
    assert warning.startswith("warning: serving on 0.0.0.0: anyone who can reach this address")


def test_a_plugin_model_with_its_own_sampler_is_served_through_the_contract(tiny, quiet):
    """A model the core has never heard of (no latent space, its own sampler, an exact
    likelihood) gets exactly the controls its contract allows, and the CLI's refusals for the rest."""
    from pixel_plugin import PixelPlugin

    import genkit
    from genkit.explore.session import ExploredRun, load_test_images
    from genkit.plugins import get_plugin_manager

    get_plugin_manager().register_plugin(PixelPlugin(), "genkit-pixels")
    run = genkit.train("pixels", overrides={"train.dataset": "tiny:64", "train.val_size": 16}, reporter=quiet).run
    lm = genkit.load(run.path, "cpu")
    test, problem = load_test_images(lm, None, None, 32, {})
    explored = ExploredRun("pixels", lm, test, problem, samples=None)
    offered = explored.describe()
    sampling = offered["sampling"]
    assert sampling["default"] == "pixel-bernoulli" and [s["name"] for s in sampling["samplers"]] == ["pixel-bernoulli"]
    assert sampling["samplers"][0]["options"] == ["temperature"]
    assert sampling["samplers"][0]["refusals"]["steps"] == (
        "--steps does not apply to sampler 'pixel-bernoulli' (it takes --temperature)"
    )
    assert offered["latent"]["refusal"] == "interpolation needs a model with a latent space, and 'pixels' has none"
    assert offered["likelihood"] == {"refusal": None, "unit": "bits_per_binarized_pixel", "samples": 1}
    assert offered["completion"]["refusal"].startswith("'pixels' completes no images")
    steps = []
    images = explored.sample(4, seed=1, temperature=0.5, progress=lambda done, total: steps.append(done))
    assert images.shape == (4, 1, 28, 28) and steps
    assert torch.equal(images, explored.sample(4, seed=1, temperature=0.5))
    values = explored.histogram()
    assert values.shape == (32,) and explored.score(test.x[:1]) == pytest.approx(float(values[0]), rel=1e-5)
