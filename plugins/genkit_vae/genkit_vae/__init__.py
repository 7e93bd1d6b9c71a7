"""genkit-vae: the Bernoulli MLP variational autoencoder (Kingma and Welling 2014).

This is the plugin's hook module, registered through the ``genkit`` entry-point
group like any third-party plugin. It imports only ``genkit``: the model is named
by its path and imported when a command first uses it.
"""

import genkit

GENKIT_CONTRACT = "1.3"  # the contract this plugin is written for: genkit.BINARIZED


@genkit.hookimpl
def register_models(register):
    register(
        genkit.ModelSpec(
            name="vae",
            config="genkit_vae.model:VAEConfig",
            build="genkit_vae.model:BernoulliVAE",
            description="MLP VAE with a Bernoulli decoder on dynamically binarized images",
            train_defaults={"epochs": 40, "batch_size": 128, "lr": 1e-3},
            default_metrics=("elbo", "nll"),
        )
    )
