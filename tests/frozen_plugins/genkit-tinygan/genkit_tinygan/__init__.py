"""genkit-tinygan's hooks, written from docs/plugins.md of contract 1.1.

genkit imports this module on every command, so it imports only genkit and names
everything heavy by its "module:attribute" path.
"""

import genkit

GENKIT_HOOKS = "1.1"  # register_loggers came with hook spec 1.1


@genkit.hookimpl
def register_models(register):
    register(
        genkit.ModelSpec(
            name="tinygan",
            config="genkit_tinygan.model:TinyGANConfig",
            build="genkit_tinygan.model:TinyGAN",
            description="the two-update GAN of the plugin guide",
            train_defaults={"epochs": 2, "batch_size": 32, "lr": 2e-3},
            default_metrics=("brightness",),
        )
    )


@genkit.hookimpl
def register_evaluators(register):
    register(
        genkit.EvaluatorSpec(
            "brightness",
            "genkit_tinygan.metric:BrightnessGap",
            "mean pixel of samples minus that of the test images",
        )
    )


@genkit.hookimpl
def register_datasets(register):
    register(genkit.DatasetSpec("tinygan-dots", "genkit_tinygan.data:load", "one bright dot on a dark 8x8 field"))


@genkit.hookimpl
def register_loggers(register):
    register(
        genkit.LoggerSpec(
            "tinygan-jsonl",
            logger="genkit_tinygan.logger:JsonlLogger",
            description="each epoch's row to RUN/tinygan-log.jsonl",
        )
    )
