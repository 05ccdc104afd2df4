"""The engine's other ODE/SDE uses: encode (forward ODE), decode/sample (reverse ODE or SDE)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch

from .divergence import Drift, call_drift, drift_only
from .likelihood import _slice
from .solve import SolverSpec, on_rows, solve


def _row_func(drift: Drift, cond: dict | None, net_dtype: torch.dtype, n: int):
    def func(t, y, idx, _need_dl, _key=None):
        return drift_only(drift, y, t, _slice(cond, idx, n), net_dtype), None
    return func


@dataclass
class PathResult:
    """x at each time of a path (a list of batched tensors) and each row's status ('ok',
    'nonfinite' or 'max_steps': where it first stopped). Indexing the states checks that
    every row finished, so a stopped path is never used as if it had."""

    states: list[torch.Tensor]
    status: list[str]

    def check(self) -> None:
        """Raise naming the rows whose integration stopped before the path's end."""
        bad = {i: s for i, s in enumerate(self.status) if s != "ok"}
        if bad:
            raise RuntimeError(
                f"the probability-flow ODE path stopped for rows {bad} (nonfinite: the state "
                "became NaN/inf; max_steps: raise solver.max_steps or loosen atol/rtol); "
                "its end is not a finished sample")

    def __getitem__(self, i):
        self.check()
        return self.states[i]

    def __iter__(self):
        self.check()
        return iter(self.states)

    def __len__(self) -> int:
        return len(self.states)


def ode_path(drift: Drift, x: torch.Tensor, times: Sequence[float], cond: dict | None = None,
             mask: torch.Tensor | None = None, solver: SolverSpec | None = None,
             **settings: Any) -> PathResult:
    """Return x at each of times and each row's status, integrating the probability-flow ODE
    from times[0] (indexing the result raises if a row stopped).

    Forward (increasing times) encodes data to noise; reverse (decreasing) samples/decodes.
    Each row is controlled on its own (batched integrator); no divergence is computed.
    `solver` gives the integration settings (its t_start/t_end/estimator are not used);
    keyword settings override single fields of it, as in log_likelihood.
    """
    if len(times) < 2:
        raise ValueError(f"times needs at least two entries, got {list(times)}")
    spec = replace(solver or SolverSpec(), **settings) if settings else (solver or SolverSpec())
    n = x.shape[0]
    m = torch.ones_like(x) if mask is None else mask.expand_as(x).to(x.dtype)
    func = _row_func(drift, cond, x.dtype, n)
    out = [x.detach().clone()]
    status = ["ok"] * n
    y = x.detach().double()
    for t0, t1 in zip(times[:-1], times[1:]):
        # stopped rows leave the path: only the live ones integrate on, the others are NaN
        rows = torch.tensor([i for i, s in enumerate(status) if s == "ok"], dtype=torch.long,
                            device=x.device)
        nxt = torch.full_like(y, float("nan"))
        if rows.numel():
            res = solve(on_rows(func, rows), float(t0), float(t1), y[rows], None, m[rows], spec)
            nxt[rows] = res.y
            for j, r in enumerate(rows.tolist()):
                status[r] = res.status[j]
        y = nxt
        out.append(y.to(x.dtype))
    return PathResult(out, status)


def sde_path(reverse_drift: Drift, diffusion, x: torch.Tensor, times: Sequence[float],
             n_steps: int, cond: dict | None = None, seed: int = 0,
             mask: torch.Tensor | None = None) -> list[torch.Tensor]:
    """Return x at each of times from Euler-Maruyama on the reverse SDE, n_steps over [0, 1].

    reverse_drift(x, t[, cond]) is the reverse-time SDE drift f - g^2 score; diffusion(t) is
    g(t). Steps run from times[0] towards times[-1] (decreasing), noise from a seeded CPU
    generator so results do not depend on the device's RNG.
    """
    if n_steps < 1:
        raise ValueError(f"n_steps must be >= 1, got {n_steps}")
    gen = torch.Generator().manual_seed(int(seed))
    h = 1.0 / n_steps
    m = torch.ones_like(x) if mask is None else mask.expand_as(x).to(x.dtype)
    out, y = [x.detach().clone()], x.detach().clone()
    with torch.no_grad():
        for t0, t1 in zip(times[:-1], times[1:]):
            k = max(1, int(round(abs(t0 - t1) / h)))
            dt = (t0 - t1) / k
            for i in range(k):
                t = torch.full((x.shape[0],), t0 - i * dt, dtype=x.dtype, device=x.device)
                f = call_drift(reverse_drift, y, t, cond)
                g = diffusion(t).view(-1, *([1] * (x.dim() - 1)))
                z = torch.randn(y.shape, generator=gen, dtype=y.dtype).to(y.device)
                y = (y - f * dt + g * math.sqrt(dt) * z) * m
            out.append(y.clone())
    return out
