"""The Inception-v3 weights file: which one, where it is found, and its SHA-256 checked before use.

torch-fidelity's ``inception-v3-compat`` extractor is the TensorFlow FID Inception (2015-12-05)
converted to PyTorch; its weights file is the same byte for byte as pytorch-fid's. Where the
file is looked for, in order:

1. ``--feature-weights PATH`` (``genkit fid``), else ``GENKIT_INCEPTION_WEIGHTS=PATH``;
2. genkit's cache (``CACHE/fidelity/weights/SHA256.pth``), where a file given once is kept;
3. torch's hub cache, where torch-fidelity or pytorch-fid put it after their own download;
4. a download of torch-fidelity's release file, unless ``GENKIT_OFFLINE`` is set.

Every file's SHA-256 is compared with the expected one before anything reads it as weights.
The expected hash is torch-fidelity's file unless ``GENKIT_INCEPTION_SHA256`` (or
``--feature-weights-sha256``) names another, for weights converted by hand; figures made with
those are marked as not the standard weights.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import genkit

WEIGHTS_ENV = "GENKIT_INCEPTION_WEIGHTS"
SHA256_ENV = "GENKIT_INCEPTION_SHA256"
OFFLINE_ENV = "GENKIT_OFFLINE"


@dataclass(frozen=True)
class WeightsFile:
    name: str
    sha256: str
    size: int
    url: str
    also_named: str


#: torch-fidelity's Inception-v3 weights (release v0.2.0), identical to pytorch-fid's file.
STANDARD = WeightsFile(
    name="weights-inception-2015-12-05-6726825d.pth",
    sha256="6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2",
    size=95_628_359,
    url="https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/weights-inception-2015-12-05-6726825d.pth",
    also_named="pt_inception-2015-12-05-6726825d.pth",
)


class WeightsError(genkit.GenkitError):
    """The Inception weights are missing, altered, or not the expected file."""


@dataclass(frozen=True)
class VerifiedWeights:
    """A weights file and its bytes, whose SHA-256 matched; ``data`` is what gets loaded, so
    the bytes checked are the bytes used."""

    path: Path
    sha256: str
    data: bytes

    @property
    def standard(self) -> bool:
        return self.sha256 == STANDARD.sha256


def expected_sha256(explicit: str | None = None) -> str:
    text = (explicit or os.environ.get(SHA256_ENV) or STANDARD.sha256).strip().lower()
    if len(text) != 64 or any(c not in "0123456789abcdef" for c in text):
        where = "--feature-weights-sha256" if explicit else SHA256_ENV
        raise WeightsError(f"{where} must be a SHA-256 of 64 hexadecimal digits (got '{text}')")
    return text


def cached_path(sha256: str) -> Path:
    return genkit.cache_dir() / "fidelity" / "weights" / f"{sha256}.pth"


def resolve(path: str | Path | None = None, sha256: str | None = None) -> VerifiedWeights:
    """The weights to use, verified; one line (:class:`WeightsError`) when none can be had."""
    expected = expected_sha256(sha256)
    given = path or os.environ.get(WEIGHTS_ENV) or None
    if given:
        where = "--feature-weights" if path else WEIGHTS_ENV
        found = Path(given).expanduser()
        if not found.is_file():
            raise WeightsError(f"{where}: no file at {found}")
        weights = _verify(found, expected, f"{where} {found}")
        _keep(weights)
        return weights
    cached = cached_path(expected)
    if cached.is_file():
        return _verify(cached, expected, f"the cached weights {cached} (delete the file and give it again)")
    if expected != STANDARD.sha256:
        raise WeightsError(
            f"no Inception weights with SHA-256 {expected} ({SHA256_ENV}) are cached; pass the file with "
            f"--feature-weights PATH or {WEIGHTS_ENV}=PATH"
        )
    for candidate in _hub_candidates():
        if candidate.is_file():
            return _verify(candidate, expected, f"{candidate} (torch's hub cache)")
    reason = _download(cached)
    if reason is None:
        try:
            return _verify(cached, expected, f"the file downloaded from {STANDARD.url}")
        except WeightsError:
            cached.unlink()
            raise
    raise WeightsError(missing_message(reason))


def missing_message(reason: str = "") -> str:
    why = f" ({reason})" if reason else ""
    return (
        f"Inception-v3 weights needed{why}: {STANDARD.name} ({STANDARD.size:,} bytes, SHA-256 {STANDARD.sha256}; "
        f"the same file as pytorch-fid's {STANDARD.also_named}), from {STANDARD.url}; pass it with "
        f"--feature-weights PATH or {WEIGHTS_ENV}=PATH, and it is kept in {cached_path(STANDARD.sha256).parent}"
    )


def _verify(path: Path, expected: str, what: str) -> VerifiedWeights:
    data = path.read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        standard = expected == STANDARD.sha256
        wanted = f"{expected} ({STANDARD.name})" if standard else f"{expected} ({SHA256_ENV})"
        raise WeightsError(
            f"{what} has SHA-256 {actual}, expected {wanted}: an altered or truncated file, or other weights; "
            "nothing was loaded"
        )
    return VerifiedWeights(path, actual, data)


def _keep(weights: VerifiedWeights) -> None:
    """Copy a verified file into the cache, so later commands (``genkit score``) find it."""
    target = cached_path(weights.sha256)
    if target.is_file() or target == weights.path:
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(weights.data)
        os.replace(tmp, target)
    except OSError:  # a read-only or full cache: the weights still work for this command
        pass
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _hub_candidates() -> list[Path]:
    """Where torch-fidelity and pytorch-fid leave the file after their own download (torch.hub)."""
    home = os.environ.get("TORCH_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME") or "~/.cache", "torch")
    checkpoints = Path(home).expanduser() / "hub" / "checkpoints"
    return [checkpoints / STANDARD.name, checkpoints / STANDARD.also_named]


def _download(target: Path) -> str | None:
    """Fetch the standard file into ``target``; None on success, else why not."""
    if os.environ.get(OFFLINE_ENV, "").strip() not in ("", "0"):
        return f"{OFFLINE_ENV} is set, so nothing is downloaded"
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(30)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(STANDARD.url) as response:
            shutil.copyfileobj(response, out)
        os.replace(tmp, target)
        return None
    except Exception as exc:  # no network, a proxy, a full disk
        return f"the download failed: {type(exc).__name__}: {exc}".splitlines()[0][:200]
    finally:
        socket.setdefaulttimeout(previous)
        if os.path.exists(tmp):
            os.unlink(tmp)
