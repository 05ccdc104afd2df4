"""log p(x0) by the instantiated change of variables along the probability-flow ODE."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch

from ..densities import gaussian_logp
from .divergence import Drift, at_width, drift_and_divergence, drift_only
from .errors import block_error
from .probes import content_seed, make_probes, stage_probes
from .solve import SolverSpec, solve

LN2 = math.log(2.0)


@dataclass
class LikelihoodResult:
    """Per-row log-density of x0 (nats, float64: the mean over probes), its parts, bits per
    dim, NFE and status; per-probe estimates (B, K), the Monte-Carlo standard error of the
    mean and its degrees of freedom (NaN / 0 with one probe or the exact trace), the per-block
    divergence integrals (B, K, G) when probes are refreshed per stage, the accepted step
    grids when recorded, and the largest embedded error ratio of a replayed row."""

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
    se_dof: torch.Tensor | None = None
    logp_blocks: torch.Tensor | None = None
    replay_err: torch.Tensor | None = None


def row_seeds(seeds: Sequence[int] | None, x0: torch.Tensor) -> list[int]:
    """Return one probe seed per row: the given ones, or a hash of each row's content (so a
    row's probes never depend on its position in the batch)."""
    n = x0.shape[0]
    if seeds is None:
        return [content_seed(x0[i]) for i in range(n)]
    if len(seeds) != n:
        raise ValueError(f"seeds must have one int per row: got {len(seeds)} for {n} rows")
    return [int(s) for s in seeds]


def _slice(cond: dict | None, idx: torch.Tensor, n: int) -> dict | None:
    if cond is None or idx.numel() == n:
        return cond
    return {k: (v[idx] if torch.is_tensor(v) else v) for k, v in cond.items()}


class TimeBlocks:
    """G blocks of [t_start, t_end], equal in log t (in t when t_start = 0): block(t) says
    which block a stage's contribution belongs to."""

    def __init__(self, t_start: float, t_end: float, n_blocks: int) -> None:
        self.n = n_blocks
        self.log = t_start > 0
        self.lo = math.log(t_start) if self.log else t_start
        self.hi = math.log(t_end) if self.log else t_end

    def block(self, t: torch.Tensor) -> torch.Tensor:
        """Return the block index (long) of each time."""
        u = t.clamp_min(1e-300).log() if self.log else t
        k = ((u - self.lo) / (self.hi - self.lo) * self.n).floor().long()
        return k.clamp(0, self.n - 1)


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
    probes, refresh, time interval, network width); keyword settings override single fields
    of it (or of the default SolverSpec). Rows are independent: each row's steps are
    controlled on their own (or replayed from `grids`, one accepted-time grid per row as
    `record_grids` returns them), probes come from each row's seed (default: a hash of the
    row's content) and the network sees calls of solver.net_batch rows, so a row's value does
    not depend on its neighbours. With K = n_probes > 1 one forward and K batched VJPs per
    stage give K estimates; logp is their mean, logp_se its Monte-Carlo standard error with
    se_dof degrees of freedom (K - 1; more with refresh=stage, from the time blocks).
    progress(fraction, evaluations) is called at every drift evaluation with the fraction of
    [t_start, t_end] that the slowest row still integrating has covered.
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
    seed_list = row_seeds(seeds, x0)
    refresh = spec.refresh == "stage"
    probes = None if refresh else make_probes(spec.estimator, x0.shape[1:], spec.n_probes,
                                              seed_list, net_dtype, x0.device)
    k = 1 if spec.estimator == "exact" else spec.n_probes
    n_blocks = spec.blocks if refresh else 1
    blocks = TimeBlocks(spec.t_start, spec.t_end, n_blocks)

    span = spec.t_end - spec.t_start
    calls = [0]

    def forward(y, t, ci):
        return (drift_only(drift, y, t, ci, net_dtype),)

    def with_div(y, t, mi, pi, ci):
        return drift_and_divergence(drift, y, t, ci, mi, pi, net_dtype, per_probe=True)

    def func(t, y, idx, need_div, key=None):
        if progress is not None:
            calls[0] += 1
            progress(float((t.min() - spec.t_start) / span), calls[0])
        ci = _slice(cond, idx, n)
        if not need_div:  # a stage whose divergence the solver does not use: forward only
            return at_width(forward, spec.net_batch, (y, t), ci)[0], None
        mi = m if idx.numel() == n else m[idx]
        if refresh:
            pi = stage_probes(spec.estimator, x0.shape[1:], k,
                              [seed_list[i] for i in idx.tolist()], key[0].tolist(), key[1],
                              net_dtype, x0.device)
        else:
            pi = None if probes is None else (probes if idx.numel() == n else probes[idx])
        f, div = at_width(with_div, spec.net_batch, (y, t, mi, pi), ci)
        if n_blocks == 1:
            return f, div[..., None]
        out = torch.zeros(div.shape[0], k, n_blocks, dtype=torch.float64, device=div.device)
        out.scatter_(2, blocks.block(t).view(-1, 1, 1).expand(-1, k, 1), div[..., None])
        return f, out

    y0 = x0.detach().double()
    l0 = torch.zeros(n, k, n_blocks, dtype=torch.float64, device=x0.device)
    res = solve(func, spec.t_start, spec.t_end, y0, l0, m, spec,
                grids=None if grids is None else list(grids), record=record_grids)
    mean = torch.as_tensor(prior_mean, dtype=torch.float64, device=x0.device).expand_as(y0)
    prior = gaussian_logp(res.y, mean, prior_std, m)
    per_probe = prior[:, None] + res.l.sum(-1)
    div = res.l.sum(-1).mean(1)
    logp = prior + div
    status = list(res.status)
    for i in range(n):
        if status[i] == "ok" and not math.isfinite(float(logp[i])):
            status[i] = "nonfinite"
    to_bits = n_dims.double() * LN2
    se, dof = (torch.as_tensor(v, dtype=torch.float64, device=x0.device)
               for v in block_error(res.l.cpu().numpy()))
    return LikelihoodResult(logp, -logp / to_bits, prior, div, n_dims, res.nfe, status, res.y,
                            per_probe, se, se / to_bits, res.grids, dof,
                            res.l if refresh else None, res.replay_err)
