"""Noise schedules of variance-preserving SDEs, as objects with closed-form integrals.

Model-side math (adapters import it); the engine never does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class LinearBetaSchedule:
    """Grad-TTS schedule: beta(t) = beta_min + (beta_max - beta_min) t on t in [0, 1].

    The SDE is mean-reverting towards mu: dX = 1/2 beta_t (mu - X) dt + sqrt(beta_t) dW.
    """

    beta_min: float = 0.05
    beta_max: float = 20.0

    def __post_init__(self) -> None:
        if not (self.beta_min >= 0 and self.beta_max > 0):
            raise ValueError(
                f"beta_min must be >= 0 and beta_max > 0, got {self.beta_min}, {self.beta_max}"
            )

    def beta(self, t: torch.Tensor) -> torch.Tensor:
        """Return beta(t)."""
        return self.beta_min + (self.beta_max - self.beta_min) * t

    def integral(self, t: torch.Tensor) -> torch.Tensor:
        """Return B(t) = int_0^t beta(s) ds."""
        return self.beta_min * t + 0.5 * (self.beta_max - self.beta_min) * t * t

    def mean_coef(self, t: torch.Tensor) -> torch.Tensor:
        """Return exp(-B(t)/2), the weight of x0 in the marginal mean."""
        return torch.exp(-0.5 * self.integral(t))

    def var(self, t: torch.Tensor) -> torch.Tensor:
        """Return 1 - exp(-B(t)), the marginal variance added to the data."""
        return -torch.expm1(-self.integral(t))


@dataclass(frozen=True)
class DiscreteDDPMSchedule:
    """Continuous-time form of a DDPM scaled_linear schedule (SDXL: 0.00085..0.012, 1000 steps).

    Discrete betas are (sqrt(b0) + (sqrt(b1) - sqrt(b0)) i/(N-1))^2; in continuous time
    beta(t) = N (a + c t)^2 with a = sqrt(b0), c = sqrt(b1) - sqrt(b0), so that
    log alpha_bar(t) = -N ((a + c t)^3 - a^3) / (3 c) in closed form.
    """

    beta_start: float = 0.00085
    beta_end: float = 0.012
    num_train_timesteps: int = 1000

    def __post_init__(self) -> None:
        if not (0 < self.beta_start < self.beta_end < 1):
            raise ValueError(
                "need 0 < beta_start < beta_end < 1, got "
                f"beta_start={self.beta_start}, beta_end={self.beta_end}"
            )
        if self.num_train_timesteps < 2:
            raise ValueError(f"num_train_timesteps must be >= 2, got {self.num_train_timesteps}")

    @property
    def _a(self) -> float:
        return math.sqrt(self.beta_start)

    @property
    def _c(self) -> float:
        return math.sqrt(self.beta_end) - math.sqrt(self.beta_start)

    def beta(self, t: torch.Tensor) -> torch.Tensor:
        """Return the continuous beta(t) (per unit time, t in [0, 1])."""
        return self.num_train_timesteps * (self._a + self._c * t) ** 2

    def integral(self, t: torch.Tensor) -> torch.Tensor:
        """Return B(t) = -log alpha_bar(t)."""
        a, c = self._a, self._c
        return self.num_train_timesteps * ((a + c * t) ** 3 - a**3) / (3 * c)

    def mean_coef(self, t: torch.Tensor) -> torch.Tensor:
        """Return sqrt(alpha_bar(t))."""
        return torch.exp(-0.5 * self.integral(t))

    def var(self, t: torch.Tensor) -> torch.Tensor:
        """Return 1 - alpha_bar(t)."""
        return -torch.expm1(-self.integral(t))

    def sigma(self, t: torch.Tensor) -> torch.Tensor:
        """Return the EDM-style noise level sqrt((1 - alpha_bar) / alpha_bar)."""
        return torch.sqrt(torch.expm1(self.integral(t)))

    def t_of_timestep(self, timestep: torch.Tensor) -> torch.Tensor:
        """Return continuous t for a discrete timestep index (0..N-1)."""
        return timestep / (self.num_train_timesteps - 1)



def pf_ode_drift(beta: torch.Tensor, x: torch.Tensor, score: torch.Tensor,
                 mu: torch.Tensor | float = 0.0) -> torch.Tensor:
    """Return the probability-flow drift 1/2 beta (mu - x - score) of a VP SDE towards mu."""
    return 0.5 * beta * (mu - x - score)


def reverse_sde_drift(beta: torch.Tensor, x: torch.Tensor, score: torch.Tensor,
                      mu: torch.Tensor | float = 0.0) -> torch.Tensor:
    """Return the reverse-time SDE drift 1/2 beta (mu - x) - beta score of a VP SDE."""
    return 0.5 * beta * (mu - x) - beta * score
