"""Headless Chromium for the tests that open a page: Debian's ``chromium`` (and, to drive a page,
its ``chromedriver`` through selenium), started with flags that work without a network. Tests that
need them skip with the reason when they are not installed (``.ci/run`` installs them where it can)."""

from __future__ import annotations

import shutil

import pytest

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("headless Chromium not found (Debian: apt-get install chromium; .ci/run installs it where it can)")


def chromium_driver(profile, width: int = 1400, height: int = 1800):
    """A selenium-driven headless Chromium with a fresh profile in ``profile``."""
    browser = chromium()
    driver_path = shutil.which("chromedriver")
    if driver_path is None:
        pytest.skip("chromedriver not found (Debian: apt-get install chromium-driver; .ci/run installs it)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (uv sync installs it)")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in [*CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"]:
        options.add_argument(flag)
    return webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=driver_path))
