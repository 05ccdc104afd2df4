"""Time-resolved attribution: where in t two conditions' log-densities part, on one ODE path.

Along the probability-flow path x_t of condition a (dx/dt = f_a, from x_0 = x to x_1), with
priors pi_a, pi_b and the same Hutchinson probe for both divergences, the shared-path
decomposition is

    D_shared = [log pi_a(x_1) - log pi_b(x_1)] + sum_k int_{e_k}^{e_{k+1}} (div f_a - div f_b) dt.

It is not log p(x | a) - log p(x | b): that difference compares two integrals along two paths.
The exact identity on path a is (d/dt log p_t^b(x_t) = -div f_b + (f_a - f_b) . grad log p_t^b)

    log p(x | a) - log p(x | b) = D_shared + int (f_a - f_b) . grad log p_t^b(x_t) dt,

with grad log p_t^b the score of the density the b-flow transports; the transport term uses the
model's score s(x, t | b) for it, which is exact when the model's score is that of its own ODE
density (the Gaussian oracle), approximate for a trained network.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch

from .divergence import Drift, drift_and_divergence, drift_only
from ..densities import gaussian_logp
from .likelihood import _slice, row_seeds
from .probes import make_probes
from .solve import SolverSpec, on_rows, solve

Score = Callable[[torch.Tensor, torch.Tensor, dict | None], torch.Tensor]


@dataclass
class AttributionResult:
    """Per row: divergence-difference integral per t-bin (B, K), prior-term difference, their
    sum (shared), optional transport term per bin, end state x_1 of path a, NFE, status."""

    bins: torch.Tensor
    prior_diff: torch.Tensor
    shared: torch.Tensor
    transport: torch.Tensor | None
    edges: list[float]
    x1: torch.Tensor
    nfe: torch.Tensor
    status: list[str]

    @property
    def total(self) -> torch.Tensor:
        """Return shared + the transport term: log p(x|a) - log p(x|b) for a consistent score."""
        if self.transport is None:
            raise ValueError("no transport term: pass score= to shared_path_attribution")
        return self.shared + self.transport.sum(1)


def check_edges(edges: Sequence[float]) -> list[float]:
    """Return edges as floats; raise unless strictly increasing with at least two entries."""
    e = [float(v) for v in edges]
    if len(e) < 2 or any(b <= a for a, b in zip(e[:-1], e[1:])):
        raise ValueError(f"edges must be strictly increasing with >= 2 entries, got {e}")
    return e


def uniform_edges(t_start: float, t_end: float, n_bins: int) -> list[float]:
    """Return n_bins + 1 edges from t_start to t_end, uniform over [0, t_end] (round values)
    when t_start is below a thousandth of a bin, else over [t_start, t_end]."""
    if n_bins < 1:
        raise ValueError(f"n_bins must be >= 1, got {n_bins}")
    lo = 0.0 if t_start < 1e-3 * t_end / n_bins else t_start
    return [t_start] + [lo + (t_end - lo) * k / n_bins for k in range(1, n_bins + 1)]


def _masked_dot(a: torch.Tensor, b: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    return (a.double() * b.double() * m.double()).flatten(1).sum(1)


def _integrate(func, edges, y0, m, spec):
    """Return (end state, per-bin integrals (B, K), NFE, status) integrating bin by bin."""
    n = y0.shape[0]
    bins = torch.zeros(n, len(edges) - 1, dtype=torch.float64, device=y0.device)
    nfe = torch.zeros(n, dtype=torch.long, device=y0.device)
    status = ["ok"] * n
    y = y0.clone()
    for k, (t0, t1) in enumerate(zip(edges[:-1], edges[1:])):
        live = torch.tensor([s == "ok" for s in status], device=y0.device)
        if not bool(live.any()):
            bins[:, k:] = float("nan")
            break
        rows = torch.nonzero(live).flatten()  # stopped rows leave: later bins are NaN for them
        zero = torch.zeros(len(rows), dtype=torch.float64, device=y0.device)
        res = solve(on_rows(func, rows), t0, t1, y[rows], zero, m[rows], spec)
        y[rows], nfe[rows] = res.y, nfe[rows] + res.nfe
        bins[:, k] = float("nan")
        bins[rows, k] = res.l
        for j, r in enumerate(rows.tolist()):
            status[r] = res.status[j]
    return y, bins, nfe, status


def shared_path_attribution(
    drift: Drift,
    x0: torch.Tensor,
    cond_a: dict | None,
    cond_b: dict | None,
    prior_a: tuple[Any, Any],
    prior_b: tuple[Any, Any],
    edges: Sequence[float],
    mask: torch.Tensor | None = None,
    solver: SolverSpec | None = None,
    seeds: Sequence[int] | None = None,
    score: Score | None = None,
    **settings: Any,
) -> AttributionResult:
    """Return the shared-path decomposition of log p(x|a) - log p(x|b) on the edges' t-bins.

    prior_a, prior_b are (mean, std) of each condition's prior at t = edges[-1]; edges[0] is
    where the path starts (the data, t_start). With `score` (the model's score s(x, t, cond)),
    a second pass along the same path adds the transport term per bin (fixed steps give the
    same path in both passes; adaptive steps the same path to within the tolerance).
    """
    spec = replace(solver or SolverSpec(), **settings) if settings else (solver or SolverSpec())
    e = check_edges(edges)
    if x0.dim() < 2:
        raise ValueError(f"x0 must be batched (B, ...), got shape {tuple(x0.shape)}")
    n, net_dtype = x0.shape[0], x0.dtype
    m = torch.ones_like(x0) if mask is None else mask.to(x0.device, x0.dtype).expand_as(x0)
    probes = make_probes(spec.estimator, x0.shape[1:], spec.n_probes, row_seeds(seeds, x0),
                         net_dtype, x0.device)

    def div_diff(t, y, idx, need_div, key=None):
        ca, cb = _slice(cond_a, idx, n), _slice(cond_b, idx, n)
        if not need_div:
            return drift_only(drift, y, t, ca, net_dtype), None
        mi = m if idx.numel() == n else m[idx]
        pi = None if probes is None else (probes if idx.numel() == n else probes[idx])
        fa, da = drift_and_divergence(drift, y, t, ca, mi, pi, net_dtype)
        _, db = drift_and_divergence(drift, y, t, cb, mi, pi, net_dtype)
        return fa, da - db

    def transport(t, y, idx, need_dl, key=None):
        ca, cb = _slice(cond_a, idx, n), _slice(cond_b, idx, n)
        fa = drift_only(drift, y, t, ca, net_dtype)
        if not need_dl:
            return fa, None
        mi = m if idx.numel() == n else m[idx]
        fb = drift_only(drift, y, t, cb, net_dtype)
        with torch.no_grad():
            sb = score(y.to(net_dtype), t.to(net_dtype), cb).double()
        return fa, _masked_dot(fa - fb, sb, mi)

    y0 = x0.detach().double()
    x1, bins, nfe, status = _integrate(div_diff, e, y0, m, spec)
    trans = None
    if score is not None:
        _, trans, nfe_t, status_t = _integrate(transport, e, y0, m, spec)
        nfe = nfe + nfe_t
        status = [s if s != "ok" else r for s, r in zip(status, status_t)]

    def prior(p):
        mean = torch.as_tensor(p[0], dtype=torch.float64, device=x0.device).expand_as(x1)
        return gaussian_logp(x1, mean, p[1], m)

    pdiff = prior(prior_a) - prior(prior_b)
    shared = pdiff + bins.sum(1)
    for i in range(n):
        if status[i] == "ok" and not bool(torch.isfinite(shared[i])):
            status[i] = "nonfinite"
    return AttributionResult(bins, pdiff, shared, trans, e, x1, nfe, status)
