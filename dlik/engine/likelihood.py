"""log p(x0) by the instantiated change of variables along the probability-flow ODE."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch

from ..densities import gaussian_logp
from .divergence import Drift, drift_and_divergence, drift_only
from .probes import make_probes
from .solve import SolverSpec, solve

LN2 = math.log(2.0)


@dataclass
class LikelihoodResult:
    """Per-row log-density of x0 (nats, float64: the mean over probes), its parts, bits per
    dim, NFE and status; per-probe estimates (B, K), the Monte-Carlo standard error of the
    mean (NaN with one probe or the exact trace), and the accepted step grids when recorded."""

    logp: torch.Tensor
    bpd: torch.Tensor
    prior_logp: torch.Tensor
    divergence_integral: torch.Tensor
    n_dims: torch.Tensor
    nfe: torch.Tensor
    status: list[str]
    x1: torch.Tensor
    logp_probes: torch.Tensor | None = None
    logp_se: torch.Tensor | None = None
    bpd_se: torch.Tensor | None = None
    grids: list[torch.Tensor] | None = None


def mc_standard_error(per_probe: torch.Tensor) -> torch.Tensor:
    """Return the standard error of the mean over the last axis (NaN with one estimate)."""
    k = per_probe.shape[-1]
    if k < 2:
        return torch.full(per_probe.shape[:-1], float("nan"), dtype=torch.float64,
                          device=per_probe.device)
    return per_probe.double().std(-1, unbiased=True) / math.sqrt(k)


def _seeds(seeds: Sequence[int] | None, n: int) -> list[int]:
    if seeds is None:
        return list(range(n))
    if len(seeds) != n:
        raise ValueError(f"seeds must have one int per row: got {len(seeds)} for {n} rows")
    return [int(s) for s in seeds]


def _slice(cond: dict | None, idx: torch.Tensor, n: int) -> dict | None:
    if cond is None or idx.numel() == n:
        return cond
    return {k: (v[idx] if torch.is_tensor(v) else v) for k, v in cond.items()}


def log_likelihood(
    drift: Drift,
    x0: torch.Tensor,
    prior_mean: torch.Tensor | float = 0.0,
    prior_std: torch.Tensor | float = 1.0,
    mask: torch.Tensor | None = None,
    cond: dict | None = None,
    solver: SolverSpec | None = None,
    seeds: Sequence[int] | None = None,
    grids: Sequence[torch.Tensor] | None = None,
    record_grids: bool = False,
    progress: Callable[[float, int], None] | None = None,
    **settings: Any,
) -> LikelihoodResult:
    """Return log p(x0) per row: log N(x1; prior) + int_{t_start}^{t_end} div f dt.

    drift(x, t, cond) is the probability-flow drift; t is a (B,) tensor and cond a dict of
    row-batched tensors or None. `solver` carries every setting (method, tolerances, estimator,
    probes, time interval); keyword settings override single fields of it (or of the
    default SolverSpec). Rows are independent: each row's steps are controlled on their own
    (or replayed from `grids`, one accepted-time grid per row as `record_grids` returns them)
    and probes come from each row's seed, so a row's value does not depend on its neighbours.
    With K = n_probes > 1 one forward and K batched VJPs per step give K estimates; logp is
    their mean and logp_se its Monte-Carlo standard error. progress(fraction, evaluations) is
    called at every drift evaluation with the fraction of [t_start, t_end] that the slowest
    row still integrating has covered (for a progress bar).
    """
    spec = replace(solver or SolverSpec(), **settings) if settings else (solver or SolverSpec())
    if x0.dim() < 2:
        raise ValueError(f"x0 must be batched (B, ...), got shape {tuple(x0.shape)}")
    n = x0.shape[0]
    net_dtype = x0.dtype
    m = torch.ones_like(x0) if mask is None else mask.to(x0.device, x0.dtype).expand_as(x0)
    n_dims = m.flatten(1).sum(1).round().long()
    if bool((n_dims == 0).any()):
        raise ValueError("mask leaves a row with no counted dims")
    probes = make_probes(spec.estimator, x0.shape[1:], spec.n_probes, _seeds(seeds, n),
                         net_dtype, x0.device)

    span = spec.t_end - spec.t_start
    calls = [0]

    def func(t, y, idx, need_div):
        if progress is not None:
            calls[0] += 1
            progress(float((t.min() - spec.t_start) / span), calls[0])
        ci = _slice(cond, idx, n)
        if not need_div:  # a stage whose divergence the solver does not use: forward only
            return drift_only(drift, y, t, ci, net_dtype), None
        mi = m if idx.numel() == n else m[idx]
        pi = None if probes is None else (probes if idx.numel() == n else probes[idx])
        return drift_and_divergence(drift, y, t, ci, mi, pi, net_dtype, per_probe=True)

    y0 = x0.detach().double()
    k = 1 if probes is None else probes.shape[1]
    l0 = torch.zeros(n, k, dtype=torch.float64, device=x0.device)
    res = solve(func, spec.t_start, spec.t_end, y0, l0, m, spec,
                grids=None if grids is None else list(grids), record=record_grids)
    mean = torch.as_tensor(prior_mean, dtype=torch.float64, device=x0.device).expand_as(y0)
    prior = gaussian_logp(res.y, mean, prior_std, m)
    per_probe = prior[:, None] + res.l
    div = res.l.mean(1)
    logp = prior + div
    status = list(res.status)
    for i in range(n):
        if status[i] == "ok" and not math.isfinite(float(logp[i])):
            status[i] = "nonfinite"
    to_bits = n_dims.double() * LN2
    se = mc_standard_error(per_probe)
    return LikelihoodResult(logp, -logp / to_bits, prior, div, n_dims, res.nfe, status, res.y,
                            per_probe, se, se / to_bits, res.grids)
