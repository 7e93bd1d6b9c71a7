"""genkit-gan: the generative adversarial network (Goodfellow et al. 2014).

The classic fully connected generator and discriminator by default, a
DCGAN-style convolutional pair with ``--set model.architecture=dcgan``.

This is the plugin's hook module: it imports only ``genkit``, and names the model
by its path, imported when a command first uses it.
"""

import genkit

GENKIT_CONTRACT = "1.2"  # the genkit plugin contract this plugin is written for


@genkit.hookimpl
def register_models(register):
    register(
        genkit.ModelSpec(
            name="gan",
            config="genkit_gan.model:GANConfig",
            build="genkit_gan.model:GAN",
            description="GAN: MLP (default) or DCGAN-style generator and discriminator, non-saturating loss",
            # Adam(2e-4, betas (0.5, 0.999)) at batch 64 is the setting the classic MNIST GANs use.
            # Validation terms of a GAN only show the discriminator overfitting, so a small held-out set does.
            train_defaults={"epochs": 30, "batch_size": 64, "lr": 2e-4, "grid_samples": 25, "val_size": 2000},
            default_metrics=("fd", "coverage", "confidence"),
        )
    )
