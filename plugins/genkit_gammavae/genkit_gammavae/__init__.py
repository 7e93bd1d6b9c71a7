"""genkit-gammavae: a convolutional VAE with a Gaussian decoder whose variance gamma is learned.

Registered through the ``genkit`` entry-point group like any third-party plugin.
"""

import genkit

from .model import GammaVAE, GammaVAEConfig, gaussian_log_density

GENKIT_HOOKS = 1


@genkit.hookimpl
def register_models(register):
    register(
        genkit.ModelSpec(
            name="gammavae",
            config=GammaVAEConfig,
            build=GammaVAE,
            description="convolutional VAE, Gaussian decoder with learned variance gamma, dequantized 8-bit data",
            train_defaults={"epochs": 20, "batch_size": 64, "lr": 1e-3},
            default_metrics=("elbo", "bpd"),
        )
    )


__all__ = ["GammaVAE", "GammaVAEConfig", "gaussian_log_density", "register_models"]
