"""Settings of the diffusion model family (pydantic only, so the hook module stays light)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator


class DiffusionConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    objective: Literal["ddpm", "flow-matching"] = Field(
        "ddpm",
        description="ddpm: epsilon prediction on a noise schedule; "
        "flow-matching: velocity on the straight noise-data path",
    )
    schedule: Literal["linear", "cosine"] = Field(
        "linear", description="DDPM noise schedule (Ho et al. linear, or Nichol-Dhariwal cosine)"
    )
    timesteps: int = Field(1000, ge=2, le=10_000, description="DDPM diffusion steps T")
    channels: int = Field(32, gt=0, description="U-Net feature maps at full resolution")
    channel_mults: tuple[int, ...] = Field(
        (1, 2, 2),
        min_length=1,
        max_length=4,
        description="width multiplier per resolution; each level after the first halves the side",
    )
    res_blocks: int = Field(1, ge=1, le=4, description="residual blocks per resolution")
    attention: bool = Field(True, description="self-attention at the lowest resolution")
    dropout: float = Field(0.0, ge=0.0, lt=1.0, description="dropout inside residual blocks")
    ema: bool = Field(
        True, description="keep an exponential moving average of the weights, used for sampling and scoring"
    )
    ema_decay: float = Field(
        0.999, gt=0.0, lt=1.0, description="EMA decay (warmed up as min(decay, (1+n)/(10+n)) over the first updates)"
    )
    min_snr_gamma: float | None = Field(
        None,
        ge=0.0,
        validate_default=True,
        description="DDPM loss weighting min(1, gamma / SNR(t)) (Min-SNR, Hang et al. 2023); "
        "0: Ho et al.'s plain epsilon loss; unset: 5 for ddpm, 0 for flow matching",
    )
    conditional: bool = Field(
        False, description="class-conditional with classifier-free guidance (label dropout in training)"
    )
    label_dropout: float = Field(
        0.1, ge=0.0, le=1.0, description="fraction of training labels replaced by the null label (conditional only)"
    )
    guidance: float = Field(
        3.0,
        ge=0.0,
        description="default guidance weight w of a conditional model: u + w (c - u); 0 unconditional, 1 conditional",
    )
    sample_steps: int = Field(
        50, ge=1, description="steps of the deterministic sampler behind decode(): DDIM (eta 0) or Euler"
    )
    bound_timesteps: int = Field(100, ge=1, description="timesteps (stratified) estimating the DDPM variational bound")

    @field_validator("channel_mults")
    @classmethod
    def _positive(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if any(m <= 0 for m in value):
            raise ValueError("every multiplier must be positive")
        return value

    @field_validator("min_snr_gamma")
    @classmethod
    def _ddpm_only(cls, value: float | None, info: ValidationInfo) -> float:
        ddpm = info.data.get("objective") == "ddpm"
        if value is None:
            return 5.0 if ddpm else 0.0
        if value > 0 and not ddpm:
            raise ValueError("applies only to objective ddpm (flow matching has no noise schedule to weight)")
        return value
