"""A judge for the ``tiny`` test dataset, trained once per test session and copied into each test's cache."""

from __future__ import annotations

_JUDGE_BYTES: bytes | None = None


def install_tiny_judge() -> None:
    """Put a judge for ``tiny`` into the current (per-test) cache, training it on first use."""
    global _JUDGE_BYTES
    from genkit_judge.store import judge_path
    from genkit_judge.training import train_judge

    path = judge_path("tiny")
    if _JUDGE_BYTES is None:
        train_judge("tiny", epochs=10, lr=3e-3)
        _JUDGE_BYTES = path.read_bytes()
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(_JUDGE_BYTES)
