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


DDPM_BETA_SCHEDULES = ("scaled_linear", "linear")


@dataclass(frozen=True)
class DiscreteDDPMSchedule:
    """Continuous-time form of a discrete DDPM schedule that hits its alphas_cumprod exactly.

    Discrete betas b_j, j = 0..N-1 as diffusers builds them ('scaled_linear':
    (sqrt b0 + (sqrt b1 - sqrt b0) j/(N-1))^2, SDXL 0.00085..0.012; 'linear':
    b0 + (b1 - b0) j/(N-1)), alpha_bar_i = prod_{j<=i} (1 - b_j). With g(s) = log(1 - b(s))
    for real s, log alpha_bar at knot k is sum_{j<k} g(j), extended to real k by the
    midpoint Euler-Maclaurin formula L(k) = int_{-1/2}^{k-1/2} g ds - (g'(k-1/2) - g'(-1/2))/24
    (integral in closed form; the next term, 7/5760 times the jump of g''', is below 1e-13).
    Time: t = k/N, so t_i = (i+1)/N carries alpha_bar_i (diffusers timestep i), t = 0 is the
    data (alpha_bar = 1) and t = 1 is timestep N-1. B(t) = -L(N t) = -log alpha_bar(t), and
    beta(t) = B'(t) = -N (g(N t - 1/2) - g''(N t - 1/2)/24) analytically.
    """

    beta_start: float = 0.00085
    beta_end: float = 0.012
    num_train_timesteps: int = 1000
    beta_schedule: str = "scaled_linear"

    def __post_init__(self) -> None:
        if not (0 < self.beta_start < self.beta_end < 1):
            raise ValueError(
                "need 0 < beta_start < beta_end < 1, got "
                f"beta_start={self.beta_start}, beta_end={self.beta_end}"
            )
        if self.num_train_timesteps < 2:
            raise ValueError(f"num_train_timesteps must be >= 2, got {self.num_train_timesteps}")
        if self.beta_schedule not in DDPM_BETA_SCHEDULES:
            raise ValueError(f"beta_schedule must be one of {list(DDPM_BETA_SCHEDULES)}, "
                             f"got {self.beta_schedule!r}")

    @property
    def _scaled(self) -> bool:
        return self.beta_schedule == "scaled_linear"

    @property
    def _slope(self) -> float:
        """Return du/ds per discrete step, u = sqrt(b) (scaled_linear) or b (linear)."""
        n = self.num_train_timesteps
        if self._scaled:
            return (math.sqrt(self.beta_end) - math.sqrt(self.beta_start)) / (n - 1)
        return (self.beta_end - self.beta_start) / (n - 1)

    def _u(self, s: torch.Tensor) -> torch.Tensor:
        u0 = math.sqrt(self.beta_start) if self._scaled else self.beta_start
        return u0 + self._slope * s

    def _g(self, s: torch.Tensor) -> torch.Tensor:
        u = self._u(s)
        return torch.log1p(-u * u) if self._scaled else torch.log1p(-u)

    def _g1(self, s: torch.Tensor) -> torch.Tensor:
        u, d = self._u(s), self._slope
        return -2 * d * u / (1 - u * u) if self._scaled else -d / (1 - u)

    def _g2(self, s: torch.Tensor) -> torch.Tensor:
        u, d = self._u(s), self._slope
        if self._scaled:
            return -2 * d * d * (1 + u * u) / (1 - u * u) ** 2
        return -d * d / (1 - u) ** 2

    def _primitive(self, s: torch.Tensor) -> torch.Tensor:
        """Return a primitive of g in s (closed form)."""
        u = self._u(s)
        if self._scaled:
            h = (1 + u) * torch.log1p(u) - (1 - u) * torch.log1p(-u) - 2 * u
        else:
            h = -(1 - u) * torch.log1p(-u) - u
        return h / self._slope

    def integral(self, t: torch.Tensor) -> torch.Tensor:
        """Return B(t) = -log alpha_bar(t) (0 at t = 0)."""
        s = self.num_train_timesteps * t - 0.5
        lo = torch.full_like(s, -0.5)
        log_abar = (self._primitive(s) - self._primitive(lo)
                    - (self._g1(s) - self._g1(lo)) / 24)
        return -log_abar

    def beta(self, t: torch.Tensor) -> torch.Tensor:
        """Return the continuous beta(t) = dB/dt (per unit time, t in [0, 1])."""
        n = self.num_train_timesteps
        s = n * t - 0.5
        return -n * (self._g(s) - self._g2(s) / 24)

    def alpha_bar(self, t: torch.Tensor) -> torch.Tensor:
        """Return alpha_bar(t) = exp(-B(t))."""
        return torch.exp(-self.integral(t))

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
        """Return continuous t = (timestep + 1) / N of a (possibly fractional) timestep."""
        return (timestep + 1) / self.num_train_timesteps

    def timestep_of_t(self, t: torch.Tensor) -> torch.Tensor:
        """Return the UNet timestep N t - 1 of continuous t (in [-1, N-1] on [0, 1])."""
        return self.num_train_timesteps * t - 1


def pf_ode_drift(beta: torch.Tensor, x: torch.Tensor, score: torch.Tensor,
                 mu: torch.Tensor | float = 0.0) -> torch.Tensor:
    """Return the probability-flow drift 1/2 beta (mu - x - score) of a VP SDE towards mu."""
    return 0.5 * beta * (mu - x - score)


def reverse_sde_drift(beta: torch.Tensor, x: torch.Tensor, score: torch.Tensor,
                      mu: torch.Tensor | float = 0.0) -> torch.Tensor:
    """Return the reverse-time SDE drift 1/2 beta (mu - x) - beta score of a VP SDE."""
    return 0.5 * beta * (mu - x) - beta * score
