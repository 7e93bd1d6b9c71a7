"""The plugin contract in one place: every public name, what a plugin declares, and the version.

Everything ``import genkit`` exports (:data:`EXPORTS`), the hooks of :mod:`genkit.hookspecs`
and the module attributes a plugin may declare (:data:`PLUGIN_DECLARATIONS`) are the public
contract that docs/plugins.md describes. :data:`CONTRACT_VERSION` is its version,
``"MAJOR.MINOR"``: a minor bump adds (a name, a keyword argument, a hook, a declaration
with a default that keeps the old behaviour) or deprecates; a major bump removes what a
deprecation announced. The hook specification's version, ``HOOK_SPEC_VERSION``, is the
same number: the hooks were the first versioned part of this contract.

A committed snapshot of the public signatures (``tests/contract/snapshot.txt``) pins the
contract; the test suite fails when a signature changes without a version bump and a
changelog entry (docs/plugins.md, "Contract changelog", each with a one-line migration).
After a deliberate change::

    uv run python -m genkit.contract --update    # from the repository root

This package imports nothing heavy: ``import genkit`` reads :data:`EXPORTS` at start-up.
:mod:`.snapshot` describes and checks the contract (importing everything it lists);
``python -m genkit.contract`` prints it, ``--check`` compares and ``--update`` rewrites.
"""

from __future__ import annotations

from typing import Any

#: The version of the plugin contract this genkit provides.
CONTRACT_VERSION = "1.6"

#: Module attributes a plugin's entry-point module may set: the contract version it is
#: written for (``"1.2"``, or a major version alone, ``1``). ``GENKIT_HOOKS`` is the older
#: name of the same declaration and is read the same way.
PLUGIN_DECLARATIONS = ("GENKIT_CONTRACT", "GENKIT_HOOKS")

#: Every public name of ``genkit``, by the module (below ``genkit``) that defines it.
EXPORTS: dict[str, str] = {
    # versions and plugin registration (torch-free)
    "CONTRACT_VERSION": "contract",
    "HOOK_SPEC_VERSION": "hookspecs",
    "hookimpl": "hookspecs",
    "GenkitError": "errors",
    "GenkitDeprecationWarning": "deprecation",
    "ModelSpec": "spec",
    "DatasetSpec": "spec",
    "EvaluatorSpec": "spec",
    "SamplerSpec": "spec",
    "LoggerSpec": "spec",
    # the model contract
    "Batch": "model",
    "DataInfo": "model",
    "GenerativeModel": "model",
    "LossTerms": "model",
    "Update": "model",
    "BoundModel": "capabilities",
    "CompletionModel": "capabilities",
    "EncoderModel": "capabilities",
    "LatentModel": "capabilities",
    "LikelihoodModel": "capabilities",
    "BINARIZED": "capabilities",
    "CONTINUOUS": "capabilities",
    "EIGHT_BIT": "capabilities",
    "LIKELIHOOD_SPACES": "capabilities",
    "EvalContext": "evaluation",
    "EvalResult": "evaluation",
    "Evaluator": "evaluation",
    "ImageClassifier": "evaluation",
    "bits_per_dim": "evaluation",
    "Sampler": "sampling",
    "start_noise": "sampling",
    "Logger": "loggers",
    "adam": "optim",
    "importance_weighted_log_likelihood": "estimators",
    "auroc": "ood",
    # data and configuration
    "TrainConfig": "config",
    "ImageDataset": "data.datasets",
    "load_dataset": "data",
    "dataset_identity": "data.identity",
    "cache_dir": "cache",
    "find_classifier": "metrics",
    # the Python API
    "LoadedModel": "api",
    "OODReport": "api",
    "Picture": "api",
    "ScoreReport": "api",
    "info": "api",
    "interpolate": "api",
    "list_plugins": "api",
    "list_runs": "api",
    "load": "api",
    "manifold": "api",
    "sample": "api",
    "score": "api",
    "score_ood": "api",
    "train": "api",
    "write_report": "report",
    # shared pieces for plugins, tests and notebooks
    "LEVELS": "maths",
    "binarize": "maths",
    "cycled_labels": "maths",
    "discretization_nats": "maths",
    "gaussian_kl": "maths",
    "nats_to_bpd": "maths",
    "reparameterize": "maths",
    "ArtifactError": "artifacts",
    "load_artifact": "artifacts",
    "save_artifact": "artifacts",
    "resolve_device": "device",
    "Reporter": "training.reporting",
    "save_columns": "plots",
    "save_curves": "plots",
    "save_grid": "plots",
    "save_histograms": "plots",
    "save_rows": "plots",
    "register_plugin": "plugins",
    "register_subset": "data.subsets",
}


# -- versions ------------------------------------------------------------------
def parse_version(text: Any) -> tuple[int, ...]:
    """``"1.2"`` -> ``(1, 2)``, ``1`` -> ``(1,)``; ValueError for anything else."""
    parts = str(text).strip().split(".")
    if not 1 <= len(parts) <= 2 or not all(p.isdigit() for p in parts):
        raise ValueError(f"not a contract version: {text!r}")
    return tuple(int(p) for p in parts)
