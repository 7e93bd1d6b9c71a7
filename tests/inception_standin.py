"""A stand-in for the real Inception-v3 weights, which cannot be downloaded where the tests run.

torch-fidelity's own ``FeatureExtractorInceptionV3`` (the network genkit uses) with random
weights, its batch-norm statistics set from one batch of random images so that activations
neither vanish nor explode through its 94 layers; saved with ``torch.save`` like the real
file. Everything genkit does with the real weights (hash check, weights-only load, resize,
features, metrics) runs unchanged on these; only the figures mean nothing.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch

_FILE: bytes | None = None


def _untrained_extractor():
    import torch_fidelity.feature_extractor_inceptionv3 as tf_inception

    class Untrained(tf_inception.FeatureExtractorInceptionV3):
        def load_state_dict(self, state_dict, *args, **kwargs):  # keep the random initial weights
            return None

    real_loader = tf_inception.load_state_dict_from_url
    tf_inception.load_state_dict_from_url = lambda *a, **k: None  # the constructor must not download
    try:
        return Untrained("inception-v3-compat", ["2048"])
    finally:
        tf_inception.load_state_dict_from_url = real_loader


def write_standin_weights(path: Path) -> str:
    """Write the stand-in weights to ``path`` (made once per session) and return their SHA-256."""
    global _FILE
    if _FILE is None:
        with torch.random.fork_rng():
            torch.manual_seed(0)
            net = _untrained_extractor()
            for module in net.modules():
                if isinstance(module, torch.nn.Conv2d):
                    torch.nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
        state = {k: v.clone() for k, v in net.state_dict().items()}
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(state, path)
        _FILE = path.read_bytes()
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(_FILE)
    return hashlib.sha256(_FILE).hexdigest()
