"""genkit: a plugin-based toolkit for deep generative models on images.

The public API for plugin authors and notebook users. Importing genkit does no
work: plugins load on first use.
"""

from .api import LoadedModel, OODReport, Picture, ScoreReport, info, interpolate, list_runs, load, manifold, list_plugins, sample, score, score_ood, train
from .capabilities import BoundModel, EncoderModel, LatentModel, LikelihoodModel
from .config import TrainConfig
from .data import DatasetSpec, ImageDataset, load_dataset
from .data.sources import cache_dir
from .errors import GenkitError
from .estimators import importance_weighted_log_likelihood
from .evaluation import EvalContext, EvalResult, Evaluator, ImageClassifier, bits_per_dim, find_classifier
from .hookspecs import HOOK_SPEC_VERSION, hookimpl
from .loggers import Logger, LoggerSpec
from .ood import auroc
from .report import write_report
from .model import Batch, DataInfo, GenerativeModel, LossTerms, ModelSpec, Update
from .sampling import Sampler
from .training.optim import adam

__version__ = "0.1.0"

__all__ = [
    "Batch", "BoundModel", "DataInfo", "DatasetSpec", "EncoderModel", "EvalContext", "EvalResult", "Evaluator", "ImageClassifier",
    "GenerativeModel", "GenkitError", "HOOK_SPEC_VERSION", "ImageDataset", "LatentModel", "LikelihoodModel",
    "LoadedModel", "Logger", "LoggerSpec", "LossTerms", "ModelSpec", "OODReport", "Picture", "Sampler", "ScoreReport", "TrainConfig", "Update",
    "adam", "auroc", "bits_per_dim", "cache_dir", "find_classifier", "hookimpl", "importance_weighted_log_likelihood", "info", "interpolate",
    "list_plugins", "list_runs", "load", "load_dataset", "manifold", "sample", "score", "score_ood", "train", "write_report",
]
