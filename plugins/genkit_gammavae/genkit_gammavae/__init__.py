"""genkit-gammavae: a convolutional VAE with a Gaussian decoder whose variance gamma is learned.

This is the plugin's hook module: it imports only ``genkit``, and names the model
by its path, imported when a command first uses it.
"""

import genkit

GENKIT_CONTRACT = "1.3"  # the contract this plugin is written for: genkit.EIGHT_BIT


@genkit.hookimpl
def register_models(register):
    register(
        genkit.ModelSpec(
            name="gammavae",
            config="genkit_gammavae.model:GammaVAEConfig",
            build="genkit_gammavae.model:GammaVAE",
            description="convolutional VAE, Gaussian decoder with learned variance gamma, dequantized 8-bit data",
            train_defaults={"epochs": 20, "batch_size": 64, "lr": 1e-3},
            default_metrics=("elbo", "bpd"),
        )
    )
