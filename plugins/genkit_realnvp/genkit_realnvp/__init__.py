"""genkit-realnvp: Real NVP (Dinh, Sohl-Dickstein and Bengio 2016) with an optional
Glow-style step (Kingma and Dhariwal 2018), trained by maximum likelihood and scored
in exact bits per dimension of the 8-bit data.

This is the plugin's hook module: it imports only ``genkit``, and names the model
by its path, imported when a command first uses it.
"""

import genkit

GENKIT_CONTRACT = "1.3"  # the contract this plugin is written for: genkit.EIGHT_BIT


@genkit.hookimpl
def register_models(register):
    register(
        genkit.ModelSpec(
            name="realnvp",
            config="genkit_realnvp.config:RealNVPConfig",
            build="genkit_realnvp.model:RealNVP",
            description="multi-scale Real NVP / Glow normalizing flow with exact likelihood (bits per dimension)",
            train_defaults={"epochs": 40, "batch_size": 64, "lr": 1e-3, "val_size": 5000},
            default_metrics=("bpd",),
        )
    )
