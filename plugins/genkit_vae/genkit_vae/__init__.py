"""genkit-vae: the Bernoulli MLP variational autoencoder (Kingma and Welling 2014).

Registered through the ``genkit`` entry-point group like any third-party plugin.
"""

import genkit

from .model import BernoulliVAE, VAEConfig

GENKIT_HOOKS = 1


@genkit.hookimpl
def register_models(register):
    register(
        genkit.ModelSpec(
            name="vae",
            config=VAEConfig,
            build=BernoulliVAE,
            description="MLP VAE with a Bernoulli decoder on dynamically binarized images",
            train_defaults={"epochs": 40, "batch_size": 128, "lr": 1e-3},
            default_metrics=("elbo", "nll"),
        )
    )


__all__ = ["BernoulliVAE", "VAEConfig", "register_models"]
