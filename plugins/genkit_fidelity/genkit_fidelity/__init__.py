"""genkit-fidelity: sample quality in Inception-v3 features, as published FIDs are computed.

The metrics ``inception-fid``, ``inception-kid``, ``inception-score`` and ``inception-pr`` score a
model's samples against its test split (or ``genkit score --reference``), and ``genkit fid A B``
compares two sets of images made by any tool, all with torch-fidelity's ``inception-v3-compat``
extractor and metric functions.

This is the plugin's hook module: it imports only ``genkit``; torch and torch-fidelity load
when a command runs.
"""

import genkit

GENKIT_CONTRACT = "1.3"  # EvalResult.details, Evaluator.takes_reference

#: name -> (class path, description) of the metrics.
METRICS = {
    "inception-fid": (
        "InceptionFID",
        "Frechet Inception Distance (torch-fidelity's Inception-v3) of as many samples as reference images",
    ),
    "inception-kid": ("InceptionKID", "Kernel Inception Distance (torch-fidelity), mean and std over 100 subsets"),
    "inception-score": ("InceptionScore", "Inception Score of the samples (torch-fidelity, 10 splits)"),
    "inception-pr": (
        "InceptionPrecisionRecall",
        "improved precision and recall (k=3, torch-fidelity) in Inception-v3 pool features",
    ),
}


@genkit.hookimpl
def register_evaluators(register):
    for name, (cls, description) in METRICS.items():
        register(genkit.EvaluatorSpec(name, f"genkit_fidelity.evaluator:{cls}", description))


@genkit.hookimpl
def register_commands(cli):
    from .cli import fid

    cli.command("fid")(fid)
