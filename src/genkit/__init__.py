"""genkit: a plugin-based toolkit for deep generative models on images.

The public API for plugin authors and notebook users. ``import genkit`` is
cheap: it loads the torch-free contract types a plugin's hook module needs
(:class:`ModelSpec`, :class:`DatasetSpec`, :class:`EvaluatorSpec`,
:class:`SamplerSpec`, :class:`LoggerSpec`, :data:`hookimpl`, :class:`GenkitError`); every other name
(the model base class, the training and scoring functions, which need torch) is
imported on first use. Plugins load on first use too.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .contract import CONTRACT_VERSION as CONTRACT_VERSION
from .contract import EXPORTS as _EXPORTS
from .deprecation import GenkitDeprecationWarning as GenkitDeprecationWarning
from .errors import GenkitError as GenkitError
from .hookspecs import HOOK_SPEC_VERSION as HOOK_SPEC_VERSION
from .hookspecs import hookimpl as hookimpl
from .spec import DatasetSpec as DatasetSpec
from .spec import EvaluatorSpec as EvaluatorSpec
from .spec import LoggerSpec as LoggerSpec
from .spec import ModelSpec as ModelSpec
from .spec import SamplerSpec as SamplerSpec

__version__ = "0.1.0"

#: The public names (genkit.contract.EXPORTS lists them all, with their modules); those not
#: imported above load on first access.
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'genkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # for editors and type checkers; nothing here runs
    from .api import (  # noqa: F401
        LoadedModel,
        OODReport,
        Picture,
        ScoreReport,
        info,
        interpolate,
        list_plugins,
        list_runs,
        load,
        manifold,
        sample,
        score,
        score_ood,
        train,
    )
    from .artifacts import ArtifactError, load_artifact, save_artifact  # noqa: F401
    from .cache import cache_dir  # noqa: F401
    from .capabilities import (  # noqa: F401
        BINARIZED,
        CONTINUOUS,
        EIGHT_BIT,
        LIKELIHOOD_SPACES,
        BoundModel,
        CompletionModel,
        EncoderModel,
        LatentModel,
        LikelihoodModel,
    )
    from .config import TrainConfig  # noqa: F401
    from .data import load_dataset  # noqa: F401
    from .data.datasets import ImageDataset  # noqa: F401
    from .data.identity import dataset_identity  # noqa: F401
    from .data.subsets import register_subset  # noqa: F401
    from .device import resolve_device  # noqa: F401
    from .estimators import importance_weighted_log_likelihood  # noqa: F401
    from .evaluation import EvalContext, EvalResult, Evaluator, ImageClassifier, bits_per_dim  # noqa: F401
    from .loggers import Logger  # noqa: F401
    from .maths import LEVELS, binarize, cycled_labels, discretization_nats, gaussian_kl, nats_to_bpd, reparameterize  # noqa: F401
    from .metrics import find_classifier  # noqa: F401
    from .model import Batch, DataInfo, GenerativeModel, LossTerms, Update  # noqa: F401
    from .ood import auroc  # noqa: F401
    from .optim import adam  # noqa: F401
    from .plots import save_columns, save_curves, save_grid, save_histograms, save_rows  # noqa: F401
    from .plugins import register_plugin  # noqa: F401
    from .report import write_report  # noqa: F401
    from .sampling import Sampler, start_noise  # noqa: F401
    from .training.reporting import Reporter  # noqa: F401
