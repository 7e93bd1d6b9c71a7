"""genkit-diffusion: denoising diffusion (DDPM, DDIM) and flow matching.

``genkit train diffusion`` trains a small U-Net with epsilon prediction on a
noise schedule (``model.objective=ddpm``, Ho et al. 2020) or velocity prediction
on the straight path between noise and data (``model.objective=flow-matching``,
Lipman et al. 2023); ``--set model.conditional=true`` adds classifier-free
guidance. This hook module imports only genkit: the networks load on first use.
"""

import genkit

GENKIT_CONTRACT = "1.6"  # written for: SamplerSpec.models, genkit.start_noise (1.3), after_step (1.6)


@genkit.hookimpl
def register_models(register):
    register(
        genkit.ModelSpec(
            name="diffusion",
            config="genkit_diffusion.config:DiffusionConfig",
            build="genkit_diffusion.model:build",
            description="denoising diffusion (DDPM, sampled by DDIM) or flow matching, small U-Net, EMA, guidance",
            # Adam at 5e-4 with batch 128 trains the small U-Net quickly; the EMA smooths the late noise.
            # Validation of a noise-prediction loss needs few images, and every grid costs sampling steps.
            train_defaults={"epochs": 10, "batch_size": 128, "lr": 5e-4, "grid_samples": 25, "val_size": 2000},
            default_metrics=("fd", "coverage", "confidence"),
        )
    )


@genkit.hookimpl
def register_samplers(register):
    for name, (cls, description) in SAMPLERS.items():
        register(
            genkit.SamplerSpec(
                name=name,
                sampler=f"genkit_diffusion.samplers:{cls}",
                description=description,
                models=("diffusion",),
            )
        )


SAMPLERS = {
    "ddim": ("DDIMSampler", "DDIM (eta 0) for a DDPM model: deterministic given the seed, --steps (default 50)"),
    "dpm-solver++": (
        "DPMSolverPP2MSampler",
        "DPM-Solver++ 2M (second order, multistep) for a DDPM model: good samples in 10-20 steps, --steps (default 20)",
    ),
    "ancestral": ("AncestralSampler", "DDPM ancestral sampling with fresh noise each step, --steps (default all T)"),
    "euler": ("EulerSampler", "Euler steps of a flow-matching model's ODE, --steps (default 50)"),
    "heun": ("HeunSampler", "Heun (second-order) steps of a flow-matching model's ODE, --steps (default 20)"),
}

__all__ = ["register_models", "register_samplers"]
