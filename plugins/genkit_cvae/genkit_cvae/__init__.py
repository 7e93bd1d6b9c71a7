"""genkit-cvae: the conditional VAE (Sohn, Lee and Yan 2015) and the regressor it is compared with.

Two condition kinds: the class label (``genkit sample RUN --label 3``) and the
middle column of the digit, binarized afresh on every pass, from which
``genkit complete RUN --from column`` draws Doersch's completion figure.

This is the plugin's hook module: it imports only ``genkit`` (and the command's
typer definition); models and the metric are named by their paths.
"""

import genkit

GENKIT_CONTRACT = "1.5"  # the contract this plugin is written for: register_commands(register)


@genkit.hookimpl
def register_models(register):
    register(
        genkit.ModelSpec(
            name="cvae",
            config="genkit_cvae.model:CVAEConfig",
            build="genkit_cvae.model:ConditionalVAE",
            description="conditional MLP VAE (Bernoulli decoder) on a class label or the middle column",
            train_defaults={"epochs": 40, "batch_size": 128, "lr": 1e-3},
            default_metrics=("elbo",),
        )
    )
    register(
        genkit.ModelSpec(
            name="regressor",
            config="genkit_cvae.regressor:RegressorConfig",
            build="genkit_cvae.regressor:ColumnRegressor",
            description="baseline for column completion: predicts every pixel's mean from the middle column",
            train_defaults={"epochs": 40, "batch_size": 128, "lr": 1e-3},
            default_metrics=("nll", "completion"),
        )
    )


@genkit.hookimpl
def register_evaluators(register):
    register(
        genkit.EvaluatorSpec(
            "completion",
            "genkit_cvae.evaluation:CompletionError",
            "mean squared error per pixel of one completion from the middle column against the grey-level "
            "test image, and the completions' pixel entropy",
        )
    )


@genkit.hookimpl
def register_commands(register):
    from .commands import complete

    register(complete)
