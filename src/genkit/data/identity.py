"""What a dataset spec names, exactly: the key under which per-dataset artifacts are kept.

A judge trained on a folder, or Inception features of a reference set, belong to those
very images. ``folder:PATH`` (or any ``name:arg`` whose argument starts with an existing
path) is therefore identified by the absolute path and a digest of the files' contents,
so two folders, or one folder before and after its images changed, never share one.
"""

from __future__ import annotations

import hashlib
from pathlib import Path


def dataset_identity(dataset: str) -> str:
    """The full identity of a dataset spec: ``mnist`` is itself; ``folder:PATH?opts`` becomes
    ``folder:/abs/PATH?opts#DIGEST``, the digest being :func:`files_digest` of the path."""
    name, sep, arg = dataset.partition(":")
    if not sep:
        return name
    where, q, query = arg.partition("?")
    root = Path(where).expanduser()
    if where and root.exists():
        root = root.resolve()
        return f"{name}:{root}{q}{query}#{files_digest(root)}"
    return dataset


_digests: dict[tuple, str] = {}


def files_digest(root: Path) -> str:
    """SHA-256 (16 hex digits) over every file under ``root`` (relative path and bytes), or of
    ``root`` itself if it is a file; remembered while no file's size or modification time changes."""
    files = sorted(p for p in ([root] if root.is_file() else root.rglob("*")) if p.is_file())
    stamp = (str(root), tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files))
    if stamp not in _digests:
        digest = hashlib.sha256()
        for p in files:
            digest.update(str(p.relative_to(root) if p != root else p.name).encode() + b"\0")
            digest.update(p.read_bytes())
        _digests[stamp] = digest.hexdigest()[:16]
    return _digests[stamp]
