"""Closed-form log-densities shared by the engine, the estimators and the analytic model.

A leaf module (torch only): adapters and the engine both import it, so no adapter reaches
into the engine for a density.
"""

from __future__ import annotations

import math

import torch


def gaussian_logp(x: torch.Tensor, mean: torch.Tensor, std, mask: torch.Tensor) -> torch.Tensor:
    """Return sum over masked dims of log N(x; mean, std^2) per row, float64."""
    x, mean = x.double(), mean.double()
    std = torch.as_tensor(std, dtype=torch.float64, device=x.device)
    z = (x - mean) / std
    per_dim = -0.5 * z * z - torch.log(std) - 0.5 * math.log(2 * math.pi)
    return (per_dim * mask.double()).flatten(1).sum(1)
