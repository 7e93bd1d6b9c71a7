"""genkit's user cache directory: downloaded data, judges, and what genkit remembers of plugins.

Torch-free, so ``genkit plugins`` can read what it keeps there without loading torch.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """genkit's user cache (data, judges): ``GENKIT_CACHE_DIR`` or the XDG cache."""
    if os.environ.get("GENKIT_CACHE_DIR"):
        return Path(os.environ["GENKIT_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "genkit"
