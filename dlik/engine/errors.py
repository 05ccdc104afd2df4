"""The Monte-Carlo error of a divergence integral kept per probe and per time block.

With K probe streams and G time blocks, the integral is sum_g of G block sums, each the mean
of K iid estimates. Blocks hold disjoint stages, whose probes are drawn independently and whose
path does not depend on any probe, so the blocks' errors are independent: the variance of the
total is sum_g s_g^2 / K (s_g^2 the sample variance over probes of block g), and its degrees
of freedom follow Welch-Satterthwaite, (sum v_g)^2 / sum (v_g^2 / (K - 1)), between K - 1 (one
block dominates) and G (K - 1) (all alike). With G = 1 this is the usual error over K probes.
"""

from __future__ import annotations

import math

import torch


def block_error(blocks: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (standard error, degrees of freedom) per row of blocks (B, K, G): NaN and 0 with
    one probe; G (K - 1) when every block is free of noise (se 0)."""
    b, k, g = blocks.shape
    if k < 2:
        nan = torch.full((b,), float("nan"), dtype=torch.float64, device=blocks.device)
        return nan, torch.zeros(b, dtype=torch.float64, device=blocks.device)
    v = blocks.double().var(1, unbiased=True) / k  # (B, G)
    total = v.sum(1)
    denom = (v * v).sum(1) / (k - 1)
    full = torch.full_like(total, float(g * (k - 1)))
    dof = torch.where(denom > 0, total * total / denom.clamp_min(1e-300), full)
    return total.sqrt(), dof.clamp(max=float(g * (k - 1)))


def t_quantile(dof: float, level: float = 0.95) -> float:
    """Return the two-sided `level` quantile of Student's t at dof degrees of freedom: the
    normal's as dof -> inf, inf for dof < 1 or NaN (no error estimate: nothing resolves)."""
    from scipy.stats import t as student_t

    if not dof >= 1:  # NaN or below one degree of freedom
        return math.inf
    if math.isinf(dof):
        return float(student_t.ppf(0.5 + level / 2, 1e12))
    return float(student_t.ppf(0.5 + level / 2, dof))
