"""SDXL noise schedule in continuous time, read from the model's own scheduler config.

Map between continuous time t in [0, 1] and the UNet's timestep (diffusers' discrete index
i = 0..N-1, N = num_train_timesteps, 1000 for SDXL):

    t_i = (i + 1) / N  carries  alpha_bar(t_i) = alphas_cumprod[i],  timestep(t) = N t - 1.

t = 0 is the clean latent (alpha_bar = 1), t = 1 is timestep N-1. The UNet is fed the
continuous timestep N t - 1 (its sinusoidal embedding takes real values); for t < 1/N that
is in [-1, 0), an extrapolation below the smallest trained timestep: likelihoods start at
t_min() = 1/N (timestep 0, sigma = sqrt(beta_0) = 0.029 for SDXL), and the adapter refuses an
earlier t_start unless told to allow it. alpha_bar(t) is
DiscreteDDPMSchedule's closed form, exact at the N grid points (5e-13 in log alpha_bar vs a
float64 cumprod; diffusers' float32 alphas_cumprod differs from it by <= 4.7e-7), with
beta(t) = -d log alpha_bar / dt its analytic derivative.

Terminal marginal: SDXL's alpha_bar(1) = 0.00466, so x_1 ~ N(0.068 x_0, 0.9953 I); the prior
N(0, I) the runner uses is an approximation (as in the paper).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from ..schedules import DDPM_BETA_SCHEDULES, DiscreteDDPMSchedule
from .scheduler_kinds import VP, check_scheduler

PREDICTION_TYPES = ("epsilon", "v_prediction")


class SDXLNoise:
    """A scheduler config as a continuous VP schedule plus its network parameterisation."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        check_scheduler(config, VP, "EulerDiscreteScheduler")
        beta_schedule = config.get("beta_schedule", "linear")
        if beta_schedule not in DDPM_BETA_SCHEDULES:
            raise ValueError(f"scheduler beta_schedule must be one of "
                             f"{list(DDPM_BETA_SCHEDULES)}, got {beta_schedule!r}")
        if config.get("trained_betas") is not None:
            raise ValueError("scheduler trained_betas is not supported (got a list); "
                             f"use a beta_schedule of {list(DDPM_BETA_SCHEDULES)}")
        if config.get("rescale_betas_zero_snr"):
            raise ValueError("scheduler rescale_betas_zero_snr=True is not supported "
                             "(alpha_bar(1) = 0 leaves no Gaussian prior); need false")
        pred = config.get("prediction_type", "epsilon")
        if pred not in PREDICTION_TYPES:
            raise ValueError(f"scheduler prediction_type must be one of {list(PREDICTION_TYPES)}, "
                             f"got {pred!r}")
        self.prediction_type = pred
        self.schedule = DiscreteDDPMSchedule(
            beta_start=float(config.get("beta_start", 0.0001)),
            beta_end=float(config.get("beta_end", 0.02)),
            num_train_timesteps=int(config.get("num_train_timesteps", 1000)),
            beta_schedule=beta_schedule)

    def timestep(self, t: torch.Tensor) -> torch.Tensor:
        """Return the UNet timestep N t - 1 (float32) of continuous t."""
        return self.schedule.timestep_of_t(t.double()).float()

    def coefficients(self, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return (beta(t), sqrt(alpha_bar(t)), sigma(t) = sqrt(1 - alpha_bar(t))), float64."""
        td = t.double()
        return (self.schedule.beta(td), self.schedule.mean_coef(td),
                self.schedule.var(td).sqrt())

    def to_eps(self, out: torch.Tensor, x: torch.Tensor, sqrt_abar: torch.Tensor,
               sigma: torch.Tensor) -> torch.Tensor:
        """Return epsilon from the network output (v -> eps = sqrt(abar) v + sigma x)."""
        if self.prediction_type == "epsilon":
            return out
        return sqrt_abar * out + sigma * x

    def t_min(self) -> float:
        """Return the t of the smallest trained timestep (timestep 0: t = 1/N)."""
        return float(self.schedule.t_of_timestep(torch.tensor(0.0, dtype=torch.float64)))

    def alpha_bar_end(self) -> float:
        """Return alpha_bar(1), the signal left at the end of the forward process."""
        return float(self.schedule.alpha_bar(torch.tensor(1.0, dtype=torch.float64)))
