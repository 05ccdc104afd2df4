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

import numpy as np


def block_error(blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (standard error, degrees of freedom) per row of blocks (..., K, G): NaN and 0
    with one probe; G (K - 1) when every block is free of noise (se 0)."""
    blocks = np.asarray(blocks, dtype=np.float64)
    k, g = blocks.shape[-2:]
    if k < 2:
        return np.full(blocks.shape[:-2], np.nan), np.zeros(blocks.shape[:-2])
    v = blocks.var(-2, ddof=1) / k  # (..., G)
    total = v.sum(-1)
    denom = (v * v).sum(-1) / (k - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        dof = np.where(denom > 0, total * total / np.where(denom > 0, denom, 1.0), g * (k - 1))
    return np.sqrt(total), np.minimum(dof, g * (k - 1))


def t_quantile(dof: float, level: float = 0.95) -> float:
    """Return the two-sided `level` quantile of Student's t at dof degrees of freedom: the
    normal's as dof -> inf, inf for dof < 1 or NaN (no error estimate: nothing resolves)."""
    from scipy.stats import t as student_t

    if not dof >= 1:  # NaN or below one degree of freedom
        return math.inf
    if math.isinf(dof):
        return float(student_t.ppf(0.5 + level / 2, 1e12))
    return float(student_t.ppf(0.5 + level / 2, dof))
