"""``genkit explore``: a local web page to play with trained models.

One process serves the runs named on the command line: each model is loaded
once, every request that touches a model waits its turn in one queue (one
worker, so the page never runs two models at once on the CPU), and the page
offers, for each run, what the model's contract says it can do.

- ``session.py``: one served run: what the page may offer it and the work behind
  each control (samples, interpolation, latent directions, manifold, scores,
  completion), through the Python API and the model contract only;
- ``images.py``: uploads decoded safely in memory, tensors to PNG data URLs;
- ``requests.py``: the request parameters, validated before any work is queued;
- ``jobs.py``: the one-worker queue, with progress and superseding;
- ``app.py``: the Starlette application (routes, limits, same-origin checks);
- ``server.py``: uvicorn on a free loopback port, the printed URL, Ctrl-C;
- ``page/``: the HTML, script and style of the page, served from memory.

This module imports nothing heavy: ``genkit explore --help`` loads no torch.
"""

from __future__ import annotations

import importlib.util

from ..errors import GenkitError

#: What ``pip install 'genkit[explore]'`` brings.
EXTRA_MODULES = ("starlette", "uvicorn", "PIL")


def require_extra() -> None:
    """One line naming the extra when the web stack is not installed."""
    missing = [m for m in EXTRA_MODULES if importlib.util.find_spec(m) is None]
    if missing:
        raise GenkitError(
            f"genkit explore needs the optional web stack ({', '.join(missing)} not installed): "
            "pip install 'genkit[explore]'"
        )
