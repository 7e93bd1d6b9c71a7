"""Settings of the flow (the ``[model]`` table of a config file)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class RealNVPConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    step: Literal["realnvp", "glow"] = Field(
        "realnvp",
        description="realnvp: actnorm + affine coupling with checkerboard then channel masks; "
        "glow: actnorm + invertible 1x1 convolution (LU) + affine coupling",
    )
    levels: int = Field(
        2, ge=1, description="scales; each squeezes 2x2 and all but the last factor out half the channels"
    )
    checkerboard_couplings: int = Field(2, ge=0, description="realnvp steps: checkerboard-masked couplings per scale")
    channel_couplings: int = Field(2, ge=0, description="realnvp steps: channel-masked couplings per scale")
    glow_steps: int = Field(8, ge=1, description="glow steps: (actnorm, 1x1 conv, coupling) steps per scale")
    hidden: int = Field(32, gt=0, description="channels of the coupling networks")
    res_blocks: int = Field(1, ge=0, description="residual blocks in each coupling network")
    log_scale_bound: float = Field(2.0, gt=0, description="coupling log-scales are b*tanh(s/b), bounded by b")
    alpha: float = Field(0.05, gt=0, lt=0.5, description="logit transform of alpha + (1 - 2 alpha) x")
