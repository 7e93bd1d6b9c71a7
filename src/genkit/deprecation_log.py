"""What deprecated uses genkit has seen from each plugin, kept across commands.

A deprecated form often shows only when a command runs the plugin's code (training calls
its ``prepare_batch``, scoring reads its ``likelihood_space``), long after ``genkit
plugins`` has exited. So each use is remembered in the user cache
(``deprecations.json``), per package and version: ``genkit plugins`` lists what the
installed version of a plugin was seen doing, and an upgraded plugin starts clean.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from .cache import cache_dir

FILE_NAME = "deprecations.json"


def _path() -> Path:
    return cache_dir() / FILE_NAME


def _read() -> dict[str, dict[str, list[str]]]:
    try:
        data = json.loads(_path().read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def seen(package: str, version: str) -> list[str]:
    """The deprecated uses recorded for this version of ``package``."""
    entry = _read().get(package)
    if not isinstance(entry, dict):
        return []
    found = entry.get(version)
    return [str(m) for m in found] if isinstance(found, list) else []


def record(package: str, version: str, message: str) -> None:
    """Remember that this version of ``package`` used a deprecated form (best effort:
    a cache that cannot be written never stops a command)."""
    data = _read()
    versions = {version: data.get(package, {}).get(version, [])}  # older versions' uses are dropped
    if message in versions[version]:
        return
    versions[version] = [*versions[version], message]
    data[package] = versions
    path = _path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".deprecations-", suffix=".json")
    except OSError:
        return
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=1, sort_keys=True)
        os.replace(tmp, path)
    except OSError:
        Path(tmp).unlink(missing_ok=True)
