"""genkit-judge: sample quality for any model that can sample.

A small convolutional classifier per dataset (``genkit judge train --dataset
mnist``) whose penultimate features and class predictions give the metrics
``fd`` (Frechet distance in the judge's feature space), ``coverage``,
``confidence``, ``precision-recall`` and ``label-accuracy``. The judge also
classifies samples for ``genkit interpolate``, so a model without an encoder
interpolates between samples of different classes.

This is the plugin's hook module: it imports only ``genkit``; the metrics are
named by their paths, and the ``genkit judge`` commands import torch only when run.
"""

import genkit

GENKIT_CONTRACT = "1.5"  # written for: register_commands(register), EvalContext.sample_count

#: name -> (class path, description) of the judge's metrics.
METRICS = {
    "fd": (
        "FrechetDistance",
        "Frechet distance between the judge's penultimate features of 10,000 samples and of the test set "
        "(not Inception FID)",
    ),
    "coverage": (
        "ClassCoverage",
        "predicted-class histogram of 10,000 samples: classes seen, KL to uniform, smallest and largest class fraction",
    ),
    "confidence": ("Confidence", "mean largest class probability the judge gives the samples"),
    "precision-recall": (
        "PrecisionRecall",
        "improved precision and recall (Kynkaanniemi et al. 2019, k=3) in the judge's feature space",
    ),
    "label-accuracy": (
        "LabelAccuracy",
        "label-conditional models: fraction of samples the judge classifies as the label they were drawn for",
    ),
}


@genkit.hookimpl
def register_evaluators(register):
    for name, (cls, description) in METRICS.items():
        register(genkit.EvaluatorSpec(name, f"genkit_judge.evaluator:{cls}", description))


@genkit.hookimpl
def register_commands(register):
    from .cli import judge_app

    register(judge_app, name="judge")
