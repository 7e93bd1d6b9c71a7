"""torch-fidelity's Inception-v3 feature extractor, built from verified weights without unpickling.

The network, its TensorFlow-compatible resize to 299x299, the input scaling and the layers read
out are torch-fidelity's own (``FeatureExtractorInceptionV3``, registered there as
``inception-v3-compat``); genkit only feeds it 8-bit RGB batches. torch-fidelity reads its weights
with ``torch.load``; genkit hands it the bytes whose SHA-256 it just checked and sets torch's
``TORCH_FORCE_WEIGHTS_ONLY_LOAD`` for that call, so the file goes through torch's weights-only
loader, which builds tensors and refuses to run any code a pickle names.
"""

from __future__ import annotations

import io
import os
import warnings
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass

import torch

import genkit

from .images import BATCH
from .weights import VerifiedWeights, WeightsError

NAME = "inception-v3-compat"
#: The layers read out: pool features (FID, KID, precision/recall) and the logits before the
#: bias (the Inception Score), as torch-fidelity reads them for each metric.
POOL, LOGITS = "2048", "logits_unbiased"


@dataclass
class Extractor:
    network: torch.nn.Module
    weights: VerifiedWeights
    device: torch.device

    @property
    def description(self) -> str:
        """What every figure records as its extractor."""
        import torch_fidelity

        return f"{NAME} (torch-fidelity {torch_fidelity.__version__})"

    @torch.no_grad()
    def features(
        self, batches: Iterable[torch.Tensor], advance: Callable[[int], None] = lambda n: None
    ) -> dict[str, torch.Tensor]:
        """``{POOL: [N, 2048], LOGITS: [N, 1008]}`` (float32, on the CPU) of 8-bit RGB batches."""
        out: dict[str, list[torch.Tensor]] = {POOL: [], LOGITS: []}
        for batch in batches:
            for part in batch.split(BATCH):  # a test split arrives whole
                found = self.network.convert_features_tuple_to_dict(self.network(part.to(self.device)))
                for key in out:
                    out[key].append(found[key].cpu())
                advance(part.shape[0])
        if not out[POOL]:
            raise genkit.GenkitError("no images to extract features from")
        return {key: torch.cat(parts) for key, parts in out.items()}


_loaded: dict[tuple[str, str], Extractor] = {}


def load(weights: VerifiedWeights, device: str | torch.device = "cpu") -> Extractor:
    """The extractor with ``weights`` on ``device`` (kept for the process once built)."""
    device = genkit.resolve_device(str(device))
    key = (weights.sha256, str(device))
    if key not in _loaded:
        from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

        try:
            with _weights_only_loading(), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # torch's remarks on pickle protocols; failures still raise
                network = FeatureExtractorInceptionV3(
                    NAME, [POOL, LOGITS], feature_extractor_weights_path=io.BytesIO(weights.data)
                )
        except Exception as exc:  # refused by the weights-only loader, or tensors of the wrong shapes
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise WeightsError(
                f"{weights.path} (SHA-256 {weights.sha256}) does not load as Inception-v3 weights: "
                f"{type(exc).__name__}: {first[:300]}"
            ) from None
        _loaded[key] = Extractor(network.to(device).eval(), weights, device)
    return _loaded[key]


@contextmanager
def _weights_only_loading():
    """torch.load inside this block uses the weights-only unpickler, whatever its caller asks."""
    saved = {k: os.environ.get(k) for k in ("TORCH_FORCE_WEIGHTS_ONLY_LOAD", "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD")}
    os.environ["TORCH_FORCE_WEIGHTS_ONLY_LOAD"] = "1"
    os.environ.pop("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", None)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
