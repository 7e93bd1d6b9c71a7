"""genkit-judge: sample quality for any model that can sample.

A small convolutional classifier per dataset (``genkit judge train --dataset
mnist``) whose penultimate features and class predictions give the metrics
``fd`` (Frechet distance in the judge's feature space), ``coverage``,
``confidence`` and ``precision-recall``. The judge also classifies samples for
``genkit interpolate``, so a model without an encoder interpolates between
samples of different classes.
"""

import genkit

from .evaluator import EVALUATORS, JudgeEvaluator
from .store import JudgeMissing, has_judge, judge_path, load_judge
from .training import train_judge

GENKIT_HOOKS = 1


@genkit.hookimpl
def register_evaluators(register):
    for evaluator in EVALUATORS:
        register(evaluator)


@genkit.hookimpl
def register_commands(cli):
    from .cli import judge_app

    cli.add_typer(judge_app, name="judge")


__all__ = ["JudgeEvaluator", "JudgeMissing", "has_judge", "judge_path", "load_judge", "register_commands", "register_evaluators", "train_judge"]
