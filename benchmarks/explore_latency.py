"""Time from a click to the new image in ``genkit explore``, for a VAE, a GAN and 20-step diffusion.

Serves each run with its own ``genkit explore`` process (so no run's job waits behind
another's), opens each page in headless Chromium, and in every round clicks "New seed" on
each page in turn (interleaved, so the machine's load falls on all alike). The time is the
page's own: from the click to the new grid of samples decoded and painted (``data-ms``), with
the worker's share (``data-compute-ms``: drawing and PNG encoding) beside it. The diffusion
page has its Steps control set first (the sampler is the model's own, DDIM for DDPM).

    uv run python benchmarks/explore_latency.py --vae RUN --gan RUN --diffusion RUN \\
        --rounds 9 [--steps 20] [--count 16] [--samples 100] [--screenshots docs/images]

With ``--screenshots DIR`` it then leaves each page in a state that shows what it offers (two
samples interpolated, a test image scored, a slider moved) and saves ``explore-NAME.png``.
Needs Debian's ``chromium`` and ``chromium-driver`` and selenium (the dev group).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import queue
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def serve(run: str, extra: list[str]) -> tuple[subprocess.Popen, str]:
    genkit = shutil.which("genkit", path=str(Path(sys.executable).parent)) or "genkit"
    process = subprocess.Popen(
        [genkit, "explore", run, *extra], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in process.stdout], daemon=True).start()
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            if process.poll() is not None:
                break
            continue
        if line.startswith("serving "):
            return process, line.split(" at ", 1)[1].split()[0]
    process.kill()
    raise SystemExit(f"genkit explore {run} did not start")


def browser(profile: str, width: int):
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "chromium"
    for flag in [*FLAGS, f"--user-data-dir={profile}", f"--window-size={width},1200"]:
        options.add_argument(flag)
    service = webdriver.ChromeService(executable_path=shutil.which("chromedriver") or "chromedriver")
    return webdriver.Chrome(options=options, service=service)


def section(driver, name: str):
    return driver.find_element("css selector", f"article.run section.{name}")


def wait_ready(driver, name: str, check=lambda s: True, timeout: float = 600):
    from selenium.webdriver.support.ui import WebDriverWait

    def ready(d):
        s = section(d, name)
        if s.get_attribute("data-state") == "error":
            raise SystemExit(f"{name}: {s.text}")
        return s if s.get_attribute("data-state") == "ready" and check(s) else False

    return WebDriverWait(driver, timeout, poll_frequency=0.02).until(ready)


def set_number(driver, element_id: str, value) -> None:
    """Type a value into a number field and leave it (the page redraws on change)."""
    from selenium.webdriver.common.keys import Keys

    box = driver.find_element("id", element_id)
    box.clear()
    box.send_keys(str(value), Keys.TAB)


def click_new_seed(driver) -> tuple[float, float]:
    seed = section(driver, "samples").get_attribute("data-seed")
    driver.find_element("id", "new-seed").click()
    done = wait_ready(driver, "samples", lambda s: s.get_attribute("data-seed") != seed)
    return float(done.get_attribute("data-ms")), float(done.get_attribute("data-compute-ms"))


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "uptime unavailable"


def screenshot(driver, name: str, folder: Path) -> Path:
    """Leave the page showing what it offers, then save the whole page."""
    from selenium.webdriver.common.keys import Keys

    tiles = section(driver, "samples").find_elements("css selector", ".tile")
    if driver.find_elements("css selector", "section.interpolation"):
        tiles[1].click()
        tiles[6].click()
        wait_ready(driver, "interpolation", lambda s: len(s.find_elements("css selector", "img")) > 2)
    if driver.find_elements("css selector", "section.test-images"):
        wait_ready(driver, "test-images").find_elements("css selector", ".tile")[3].click()
    if driver.find_elements("css selector", "section.likelihood"):
        wait_ready(driver, "likelihood", lambda s: s.get_attribute("data-value"))
    sliders = driver.find_elements("css selector", 'section.latent input[type="range"]')
    if sliders:
        wait_ready(driver, "latent", lambda s: "test image" in s.text)
        sliders[0].send_keys(*[Keys.ARROW_RIGHT] * 8)
        wait_ready(driver, "latent", lambda s: "moved" in s.text)
    width = driver.execute_script("return document.documentElement.clientWidth")
    height = driver.execute_script("return document.documentElement.scrollHeight")
    metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)  # the whole page in one picture
    time.sleep(0.5)
    path = folder / f"explore-{name}.png"
    driver.save_screenshot(str(path))
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vae", required=True, help="a VAE run")
    parser.add_argument("--gan", required=True, help="a GAN run")
    parser.add_argument("--diffusion", required=True, help="a diffusion run")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--steps", type=int, default=20, help="diffusion sampler steps")
    parser.add_argument("--count", type=int, default=16, help="samples per grid")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--samples", type=int, default=100, help="importance samples per score (screenshots)")
    parser.add_argument("--width", type=int, default=1100, help="browser window width")
    parser.add_argument("--screenshots", type=Path, help="folder for explore-NAME.png")
    parser.add_argument("--json", type=Path, help="append the figures as one JSON line to this file")
    args = parser.parse_args()

    runs = {"vae": args.vae, "gan": args.gan, f"diffusion ({args.steps} steps)": args.diffusion}
    started_load = uptime()
    servers, drivers = {}, {}
    profiles = tempfile.TemporaryDirectory()
    try:
        for name, run in runs.items():
            servers[name] = serve(run, ["--device", args.device, "--limit", "500", "--samples", str(args.samples)])
            driver = browser(os.path.join(profiles.name, name.split()[0]), args.width)
            driver.get(servers[name][1])
            wait_ready(driver, "samples")
            set_number(driver, "count", args.count)
            if name.startswith("diffusion"):
                set_number(driver, "option-steps", args.steps)
            wait_ready(driver, "samples", lambda s: len(s.find_elements("css selector", "img")) == args.count)
            drivers[name] = driver
        times = {name: [] for name in runs}
        for _ in range(args.rounds):
            for name, driver in drivers.items():
                times[name].append(click_new_seed(driver))
        ended_load = uptime()
        print(f"# {datetime.datetime.now().isoformat(timespec='seconds')}, {cpu_name()}, {os.cpu_count()} cores")
        print(f"# load before: {started_load}\n# load after:  {ended_load}")
        print(f"# {args.rounds} rounds, {args.count} samples per grid, device {args.device}, medians (min - max)")
        print("| model | click to new grid (ms) | of which the worker (ms) |")
        print("| --- | --- | --- |")
        record = {"date": datetime.datetime.now().isoformat(timespec="seconds"), "load": [started_load, ended_load]}
        for name, pairs in times.items():
            total, work = [p[0] for p in pairs], [p[1] for p in pairs]
            print(
                f"| {name} | {statistics.median(total):.0f} ({min(total):.0f} - {max(total):.0f}) "
                f"| {statistics.median(work):.0f} ({min(work):.0f} - {max(work):.0f}) |"
            )
            record[name] = {"click_to_image_ms": total, "worker_ms": work}
        if args.json:
            with args.json.open("a") as handle:
                handle.write(json.dumps(record) + "\n")
        if args.screenshots:
            args.screenshots.mkdir(parents=True, exist_ok=True)
            for name, driver in drivers.items():
                print(f"wrote {screenshot(driver, name.split()[0], args.screenshots)}")
    finally:
        for driver in drivers.values():
            driver.quit()
        for process, _ in servers.values():
            process.terminate()
            process.wait(30)
        profiles.cleanup()


if __name__ == "__main__":
    main()
