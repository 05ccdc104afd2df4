"""Classifier-free guidance in diffusers' convention, and a model's trained time range.

guidance_scale s (diffusers' `guidance_scale`, the paper's grid {0, 3, 5, 7}):
    eps = eps_u + s (eps_c - eps_u)   when s > 1,
    eps = eps_c                       when s <= 1 (no guidance: the plain conditional model),
exactly as StableDiffusionXLPipeline decides (`do_classifier_free_guidance = s > 1`). So s = 0
and s = 1 both give the model density log p(x | prompt); for s > 1 the value is that of the
guided ODE's flow, not of any model's density. The unconditional model is the null prompt
(zero embeddings), not a guidance scale.
"""

from __future__ import annotations

import math
from typing import Any

import torch


def check_guidance_scale(value: Any) -> float:
    """Return value as a float guidance scale, raising unless it is finite and >= 0."""
    try:
        s = float(value)
    except (TypeError, ValueError):
        s = math.nan
    if not math.isfinite(s) or s < 0:
        raise ValueError(f"guidance_scale must be a finite float >= 0 (diffusers' convention: "
                         f"<= 1 = no guidance, e.g. 0, 3, 5, 7), got {value!r}; for the "
                         "unconditional model use the null prompt")
    return s


def guidance_scale_list(values: Any, default: list[float]) -> list[float]:
    """Return values (default when None) as a non-empty list of distinct guidance scales."""
    scales = [check_guidance_scale(v) for v in (default if values is None else list(values))]
    if not scales or len(set(scales)) != len(scales):
        raise ValueError(f"guidance_scales must be a non-empty list of distinct guidance "
                         f"scales (e.g. [0, 3, 5, 7]), got {values}")
    return scales


def guided_rows(scale: torch.Tensor | None) -> torch.Tensor | None:
    """Return the indices of the rows whose guidance_scale > 1 (None when none are guided)."""
    if scale is None:
        return None
    idx = torch.nonzero(scale > 1).flatten()
    return idx if idx.numel() else None


def guide(e_c: torch.Tensor, e_u: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Return diffusers' guided epsilon e_u + s (e_c - e_u) of the guided rows."""
    return e_u + scale.to(e_c.dtype).view(-1, *([1] * (e_c.dim() - 1))) * (e_c - e_u)


def check_t_start(t_start: float, t_min: float, allow_below: bool, model_id: str) -> float:
    """Return t_start, raising when it lies below the model's first trained timestep t_min
    (unless allow_below)."""
    t = float(t_start)
    if allow_below or t >= t_min * (1 - 1e-9):
        return t
    raise ValueError(f"solver.t_start={t:g} is below the first trained timestep of {model_id} "
                     f"(timestep 0 at t = 1/N = {t_min:g}): its UNet would be extrapolated "
                     f"there, where the divergence grows like 1/t. Use solver.t_start>={t_min:g} "
                     "(the TTI experiments' default), or model.allow_t_below_trained=true to "
                     "measure the extrapolated interval anyway")
