"""The samplers ``genkit sample --sampler`` selects: DDIM, DPM-Solver++ 2M and ancestral
for DDPM, Euler and Heun for flow matching."""

from __future__ import annotations

import torch

import genkit

from . import solvers


class DiffusionSampler(genkit.Sampler):
    """What they all share: which objective they fit, their step count, the start noise.

    genkit checks the rest before ``sample`` runs (docs/plugins.md, Samplers): that the
    sampler applies, ``--steps`` at least 1, ``--guidance`` not negative and only for a
    conditional model, the label.
    """

    objective = ""
    default_steps = 50

    def unsupported_reason(self, model) -> str | None:
        kind = getattr(model, "objective", None)
        if kind is None or not hasattr(model, "resolve_guidance"):
            return f"the {self.name} sampler needs a diffusion model (genkit train diffusion)"
        if kind != self.objective:
            return (
                f"the {self.name} sampler is for objective {self.objective}; "
                f"this model is {kind} (use --sampler {model.default_sampler})"
            )
        return None

    def _steps(self, model, steps: int | None) -> int:
        """The step count, at most the model's own diffusion steps (DDPM)."""
        steps = self.default_steps if steps is None else steps
        limit = getattr(model.config, "timesteps", None) if self.objective == "ddpm" else None
        if limit is not None and steps > limit:
            raise genkit.GenkitError(f"--steps {steps} is more than the model's {limit} diffusion steps")
        return steps

    def sample(self, model, n, *, condition=None, generator=None, steps=None, guidance=None, progress=None):
        steps = self._steps(model, steps)
        z = genkit.start_noise(model, n, generator)
        return model.to_images(
            self.run(model, z, condition, steps, model.resolve_guidance(guidance), generator, progress)
        )

    def run(self, model, z, condition, steps, guidance, generator, progress) -> torch.Tensor:
        raise NotImplementedError


class DDIMSampler(DiffusionSampler):
    name = "ddim"
    description = "DDIM (eta 0): deterministic given the seed; --steps (default 50) of the DDPM steps"
    objective = "ddpm"

    def run(self, model, z, condition, steps, guidance, generator, progress):
        return solvers.ddim(model, z, condition, steps, guidance, progress)


class DPMSolverPP2MSampler(DiffusionSampler):
    name = "dpm-solver++"
    description = (
        "DPM-Solver++ 2M: second-order multistep ODE solver, deterministic given the seed; "
        "--steps (default 20) of the DDPM steps"
    )
    objective = "ddpm"
    default_steps = 20

    def run(self, model, z, condition, steps, guidance, generator, progress):
        return solvers.dpm_solver_pp_2m(model, z, condition, steps, guidance, progress)


class AncestralSampler(DiffusionSampler):
    name = "ancestral"
    description = "DDPM ancestral sampling with fresh noise each step; --steps (default all T) of the DDPM steps"
    objective = "ddpm"
    default_steps = None

    def _steps(self, model, steps):
        return super()._steps(model, model.config.timesteps if steps is None else steps)

    def run(self, model, z, condition, steps, guidance, generator, progress):
        return solvers.ancestral(model, z, condition, steps, guidance, generator, progress)


class EulerSampler(DiffusionSampler):
    name = "euler"
    description = "Euler steps of the flow-matching ODE from noise to data; --steps (default 50)"
    objective = "flow-matching"

    def run(self, model, z, condition, steps, guidance, generator, progress):
        return solvers.euler(model, z, condition, steps, guidance, progress)


class HeunSampler(DiffusionSampler):
    name = "heun"
    description = "Heun (second-order) steps of the flow-matching ODE, two evaluations each; --steps (default 20)"
    objective = "flow-matching"
    default_steps = 20

    def run(self, model, z, condition, steps, guidance, generator, progress):
        return solvers.heun(model, z, condition, steps, guidance, progress)
