"""genkit-ae: Ae for genkit.

genkit finds this module through the `genkit` entry point in pyproject.toml and
calls the hooks below once, when a command first needs a plugin. Every genkit
command (even `genkit --help`) imports it, so it imports only genkit: the model
is named by its "module:attribute" path and imported when a command uses it.
"""

import genkit

#: The genkit plugin contract this plugin is written for (docs/plugins.md, "Compatibility").
GENKIT_CONTRACT = "1.2"


@genkit.hookimpl
def register_models(register):
    register(
        genkit.ModelSpec(
            name="ae",
            config="genkit_ae.model:AeConfig",
            build="genkit_ae.model:Ae",
            description="MLP autoencoder with a Gaussian fitted to its latent codes",
            train_defaults={"epochs": 10, "batch_size": 128, "lr": 1e-3},
            accepts="genkit_ae.model:accepts",
        )
    )
