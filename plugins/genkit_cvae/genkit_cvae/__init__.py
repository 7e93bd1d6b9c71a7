"""genkit-cvae: the conditional VAE (Sohn, Lee and Yan 2015) and the regressor it is compared with.

Two condition kinds: the class label (``genkit sample RUN --label 3``) and the
middle column of the digit, binarized afresh on every pass, from which
``genkit complete RUN --from column`` draws Doersch's completion figure.
"""

import genkit

from .commands import add_complete_command
from .completion import completion_figure
from .evaluation import CompletionError
from .model import ConditionalVAE, CVAEConfig
from .regressor import ColumnRegressor, RegressorConfig

GENKIT_HOOKS = 1


@genkit.hookimpl
def register_models(register):
    register(
        genkit.ModelSpec(
            name="cvae",
            config=CVAEConfig,
            build=ConditionalVAE,
            description="conditional MLP VAE (Bernoulli decoder) on a class label or the middle column",
            train_defaults={"epochs": 40, "batch_size": 128, "lr": 1e-3},
            default_metrics=("elbo",),
        )
    )
    register(
        genkit.ModelSpec(
            name="regressor",
            config=RegressorConfig,
            build=ColumnRegressor,
            description="baseline for column completion: predicts every pixel's mean from the middle column",
            train_defaults={"epochs": 40, "batch_size": 128, "lr": 1e-3},
            default_metrics=("nll", "completion"),
        )
    )


@genkit.hookimpl
def register_evaluators(register):
    register(CompletionError())


@genkit.hookimpl
def register_commands(cli):
    add_complete_command(cli)


__all__ = ["CVAEConfig", "ColumnRegressor", "CompletionError", "ConditionalVAE", "RegressorConfig", "completion_figure"]
