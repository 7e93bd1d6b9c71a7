"""genkit-realnvp: Real NVP (Dinh, Sohl-Dickstein and Bengio 2016) with an optional
Glow-style step (Kingma and Dhariwal 2018), trained by maximum likelihood and scored
in exact bits per dimension of the 8-bit data.

Registered through the ``genkit`` entry-point group like any third-party plugin.
"""

import genkit

from .config import RealNVPConfig
from .model import RealNVP

GENKIT_HOOKS = 1


@genkit.hookimpl
def register_models(register):
    register(
        genkit.ModelSpec(
            name="realnvp",
            config=RealNVPConfig,
            build=RealNVP,
            description="multi-scale Real NVP / Glow normalizing flow with exact likelihood (bits per dimension)",
            train_defaults={"epochs": 40, "batch_size": 64, "lr": 1e-3, "val_size": 5000},
            default_metrics=("bpd",),
        )
    )


__all__ = ["RealNVP", "RealNVPConfig", "register_models"]
