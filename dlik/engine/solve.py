"""The one place that integrates ODEs: batched per-row RK or torchdiffeq, with time changes."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

import torch
from torchdiffeq import odeint
from torchdiffeq._impl.odeint import SOLVERS as TORCHDIFFEQ_SOLVERS
from torchdiffeq._impl.solvers import FixedGridODESolver

from .batched_rk import BatchedRK, IntegrationResult, RowFunc
from .probes import check_estimator
from .tableaus import TABLEAUS

INTEGRATORS = ("auto", "batched", "torchdiffeq")
PROBE_SHARING = ("shared", "independent")
STEP_SHARING = ("shared", "own")
REFRESH = ("none", "stage")
METHODS = tuple(sorted(set(TABLEAUS) | set(TORCHDIFFEQ_SOLVERS)))


@dataclass(frozen=True)
class TimeChange:
    """t = to_t(s); integrate in s with the vector field scaled by dt/ds."""

    to_s: callable
    to_t: callable
    dt_ds: callable
    positive_t: bool = False  # defined only for t > 0


TIME_CHANGES = {
    "none": TimeChange(lambda t: t, lambda s: s, lambda s: torch.ones_like(s)),
    # t = s^2 spends more steps near t=0 where the score changes fastest.
    "sqrt": TimeChange(math.sqrt, lambda s: s * s, lambda s: 2 * s),
    # t = e^s: a divergence growing like 1/t near t=0 becomes constant in s (needs t > 0).
    "log": TimeChange(math.log, torch.exp, torch.exp, positive_t=True),
}


@dataclass(frozen=True)
class SolverSpec:
    """Every setting of one likelihood computation; the one object that travels from config
    to engine to CSV. Construction raises on any unknown name or bad number."""

    method: str = "dopri5"
    atol: float = 1e-5
    rtol: float = 1e-5
    integrator: str = "auto"
    step_size: float | None = None
    max_steps: int = 10_000
    time_change: str = "none"
    estimator: str = "rademacher"
    n_probes: int = 1
    t_start: float = 1e-5
    t_end: float = 1.0
    probes: str = "shared"
    """shared: every condition of a sample uses the same probes (seeded by sample and seed), so
    probe noise cancels in differences; independent: a fresh probe per row (the paper's)."""
    steps: str = "shared"
    """shared: an adaptive method picks its steps once per sample input (on its first
    condition) and every condition replays them; own: each row controls its own steps.
    torchdiffeq's adaptive methods cannot replay steps: they resolve to own (the CSV says)."""
    refresh: str = "none"
    """none: one probe set per row for the whole solve (FFJORD's and the paper's); stage: fresh
    probes at every stage, drawn from (row seed, accepted step, stage), so every condition of a
    sample still sees the same probes on a shared grid. The trajectory does not depend on the
    probes, so the estimate stays unbiased while the per-stage noise adds incoherently; the
    log-density leaves the step controller's error norm (the steps cannot select probes)."""
    blocks: int = 64
    """With refresh=stage: the divergence integral is kept in this many time blocks (equal in
    log t), independent given the path, so a row's error has up to blocks x (K - 1) degrees of
    freedom (Welch-Satterthwaite) instead of K - 1."""
    replay_slack: float = 1.0
    """A replayed row whose embedded error ratio exceeds this on any step (1 = at tolerance) is
    re-integrated on its own steps and says so (steps = own, replay_err); inf never checks."""
    net_batch: int | None = None
    """Every network call is made on exactly this many rows (chunked, the last padded by
    repeating a row), so a row's numbers never depend on which rows share its batch (fp32
    kernels pick their blocking by batch size). None: the engine calls the network on the
    rows as they come; a run (dlik run, dlik.score) resolves None to its batch_size, so its
    rows do not depend on neighbours, shard or resume; set it to keep rows fixed across
    batch sizes too. Adaptive pilots always run alone (width 1)."""

    @classmethod
    def from_mapping(cls, settings: Mapping[str, Any]) -> SolverSpec:
        """Return the spec of a mapping (e.g. the solver config group); unknown keys raise."""
        names = [f.name for f in fields(cls)]
        unknown = sorted(set(settings) - set(names))
        if unknown:
            raise ValueError(f"unknown solver setting(s) {unknown}; known: {names}")
        kw = dict(settings)
        kinds = {"atol": float, "rtol": float, "t_start": float, "t_end": float,
                 "step_size": float, "max_steps": int, "n_probes": int, "blocks": int,
                 "replay_slack": float, "net_batch": int}
        for k, kind in kinds.items():
            if k in kw and not (k in ("step_size", "net_batch") and kw[k] is None):
                try:
                    kw[k] = kind(kw[k])
                except (TypeError, ValueError):
                    raise ValueError(f"solver.{k} must be a number ({kind.__name__}), got "
                                     f"{kw[k]!r}") from None
        return cls(**kw)

    def columns(self) -> dict[str, Any]:
        """Return the CSV provenance columns of this spec (SOLVER_COLUMNS; integrator resolved,
        `solver` = the method)."""
        return {"integrator": self.resolved_integrator, "solver": self.method,
                "atol": self.atol, "rtol": self.rtol, "step_size": self.step_size,
                "max_steps": self.max_steps, "time_change": self.time_change,
                "estimator": self.estimator, "n_probes": self.n_probes,
                "t_start": self.t_start, "t_end": self.t_end, "probes": self.probes,
                "steps": self.resolved_steps, "refresh": self.refresh,
                "net_batch": self.net_batch}

    def __post_init__(self) -> None:
        check_estimator(self.estimator)
        for name in ("atol", "rtol", "t_start", "t_end"):
            if not math.isfinite(getattr(self, name)):
                raise ValueError(f"solver.{name} must be finite, got {getattr(self, name)}")
        if self.refresh not in REFRESH:
            raise ValueError(f"refresh must be one of {list(REFRESH)}, got {self.refresh!r}")
        if self.refresh != "none" and self.resolved_integrator != "batched":
            raise ValueError(f"refresh={self.refresh!r} needs integrator=batched (it keys probes "
                             f"by step and stage), got {self.resolved_integrator}")
        if self.refresh != "none" and self.estimator == "exact":
            raise ValueError("refresh=stage draws Hutchinson probes: not with estimator=exact")
        if self.blocks < 1:
            raise ValueError(f"blocks must be >= 1, got {self.blocks}")
        if not self.replay_slack >= 1:
            raise ValueError(f"replay_slack must be >= 1 (1 = the tolerance), got "
                             f"{self.replay_slack}")
        if self.net_batch is not None and self.net_batch < 1:
            raise ValueError(f"net_batch must be >= 1 or null, got {self.net_batch}")
        if self.n_probes < 1:
            raise ValueError(f"n_probes must be >= 1, got {self.n_probes}")
        if not self.t_end > self.t_start >= 0:
            raise ValueError(f"need 0 <= t_start < t_end, got t_start={self.t_start}, "
                             f"t_end={self.t_end}")
        if self.max_steps < 1:
            raise ValueError(f"max_steps must be >= 1, got {self.max_steps}")
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {list(METHODS)}, got {self.method!r}")
        if self.integrator not in INTEGRATORS:
            raise ValueError(
                f"integrator must be one of {list(INTEGRATORS)}, got {self.integrator!r}")
        if self.integrator == "batched" and self.method not in TABLEAUS:
            raise ValueError(f"integrator 'batched' supports methods {sorted(TABLEAUS)}, got "
                             f"{self.method!r}; use integrator=torchdiffeq")
        if self.probes not in PROBE_SHARING:
            raise ValueError(f"probes must be one of {list(PROBE_SHARING)}, got {self.probes!r}")
        if self.steps not in STEP_SHARING:
            raise ValueError(f"steps must be one of {list(STEP_SHARING)}, got {self.steps!r}")
        if self.time_change not in TIME_CHANGES:
            raise ValueError(f"time_change must be one of {list(TIME_CHANGES)}, "
                             f"got {self.time_change!r}")
        if not (self.atol > 0 and self.rtol > 0):
            raise ValueError(f"atol and rtol must be > 0, got {self.atol}, {self.rtol}")
        if self.step_size is not None and not self.step_size > 0:
            raise ValueError(f"step_size must be > 0 or null, got {self.step_size}")
        if (self.step_size is not None and self.resolved_integrator == "torchdiffeq"
                and not issubclass(TORCHDIFFEQ_SOLVERS[self.method], FixedGridODESolver)):
            raise ValueError(f"torchdiffeq's {self.method!r} ignores step_size; use "
                             "integrator=batched for fixed steps of an embedded pair")

    @property
    def adaptive(self) -> bool:
        """Return True when the steps are chosen by error control (no fixed step_size)."""
        if self.step_size is not None:
            return False
        if self.resolved_integrator == "batched":
            return TABLEAUS[self.method].adaptive
        return not issubclass(TORCHDIFFEQ_SOLVERS[self.method], FixedGridODESolver)

    @property
    def shares_steps(self) -> bool:
        """Return True when conditions of a sample replay one step sequence (a pilot's): an
        adaptive batched method with steps=shared (fixed steps are shared by construction)."""
        return self.steps == "shared" and self.adaptive and self.resolved_integrator == "batched"

    @property
    def resolved_steps(self) -> str:
        """Return 'shared' or 'own' as run: steps=shared on torchdiffeq's adaptive methods is
        'own' (each row controls its steps); fixed steps are shared by construction."""
        if self.steps == "own" or not self.adaptive:
            return self.steps
        return "shared" if self.shares_steps else "own"

    @property
    def resolved_integrator(self) -> str:
        """Return 'batched' or 'torchdiffeq' ('auto' picks batched when it has the method)."""
        if self.integrator != "auto":
            return self.integrator
        return "batched" if self.method in TABLEAUS else "torchdiffeq"


SOLVER_COLUMNS = tuple(SolverSpec().columns())


def _changed(func: RowFunc, tc: TimeChange) -> RowFunc:
    def g(s, y, idx, need_dl, key=None):
        dy, dl = func(tc.to_t(s), y, idx, need_dl, key)
        k = tc.dt_ds(s)
        return (dy * k.view(-1, *([1] * (dy.dim() - 1))),
                None if dl is None else dl * k.view(-1, *([1] * (dl.dim() - 1))))
    return g


def on_rows(func: RowFunc, rows: torch.Tensor) -> RowFunc:
    """Return func for integrating a subset of the original rows: the integrator's local row
    indices map back to `rows` (stopped rows leave a path or a bin sequence this way)."""
    def g(t, y, idx, need, key=None):
        return func(t, y, rows[idx], need, key)
    return g


def _torchdiffeq(func: RowFunc, s0, s1, y0, l0, spec: SolverSpec) -> IntegrationResult:
    """Integrate with torchdiffeq: fixed-grid methods on the whole batch; adaptive methods one
    row at a time, since one shared step controller would tie each row to its neighbours."""
    n = y0.shape[0]
    if n == 1 or issubclass(TORCHDIFFEQ_SOLVERS[spec.method], FixedGridODESolver):
        return _torchdiffeq_rows(func, s0, s1, y0, l0, spec, torch.arange(n, device=y0.device))
    parts = [_torchdiffeq_rows(func, s0, s1, y0[i:i + 1], None if l0 is None else l0[i:i + 1],
                               spec, torch.tensor([i], device=y0.device)) for i in range(n)]
    return IntegrationResult(
        torch.cat([p.y for p in parts]),
        None if l0 is None else torch.cat([p.l for p in parts]),
        torch.cat([p.nfe for p in parts]), [s for p in parts for s in p.status])


def _torchdiffeq_rows(func: RowFunc, s0, s1, y0, l0, spec: SolverSpec,
                      idx: torch.Tensor) -> IntegrationResult:
    n = y0.shape[0]
    nfe = [0]

    def f(s, state):
        nfe[0] += 1
        y = state[0]
        dy, dl = func(s.expand(n).to(torch.float64), y, idx, l0 is not None, None)
        return (dy,) if l0 is None else (dy, dl)

    state = (y0,) if l0 is None else (y0, l0)
    options = {"max_num_steps": spec.max_steps}
    if spec.step_size is not None:
        options = {"step_size": spec.step_size}
    ts = torch.tensor([s0, s1], dtype=torch.float64, device=y0.device)
    status = "ok"
    try:
        sol = odeint(f, state, ts, method=spec.method, atol=spec.atol, rtol=spec.rtol,
                     options=options)
        y1 = sol[0][-1]
        l1 = None if l0 is None else sol[1][-1]
    except AssertionError as exc:  # torchdiffeq signals step failures by assert
        status = "max_steps" if "max_num_steps" in str(exc) else "nonfinite"
        y1 = torch.full_like(y0, float("nan"))
        l1 = None if l0 is None else torch.full_like(l0, float("nan"))
    counts = torch.full((n,), nfe[0], dtype=torch.long, device=y0.device)
    return IntegrationResult(y1, l1, counts, [status] * n)


def solve(func: RowFunc, t0: float, t1: float, y0: torch.Tensor, l0: torch.Tensor | None,
          mask: torch.Tensor, spec: SolverSpec, grids: list[torch.Tensor] | None = None,
          record: bool = False) -> IntegrationResult:
    """Return the state at t1 of every row, integrating func from t0 under spec.

    grids replays given step sequences (in the solver's time variable, as recorded) and
    record returns each row's accepted times; both need the batched integrator."""
    tc = TIME_CHANGES[spec.time_change]
    if tc.positive_t and min(t0, t1) <= 0:
        raise ValueError(f"time_change {spec.time_change!r} needs times > 0, got t0={t0}, "
                         f"t1={t1}; set t_start > 0 or use time_change none|sqrt")
    g = func if spec.time_change == "none" else _changed(func, tc)
    s0, s1 = tc.to_s(t0), tc.to_s(t1)
    if spec.resolved_integrator == "torchdiffeq":
        if grids is not None or record:
            raise ValueError("replaying or recording step grids needs integrator=batched, got "
                             f"torchdiffeq ({spec.method!r})")
        return _torchdiffeq(g, s0, s1, y0, l0, spec)
    rk = BatchedRK(TABLEAUS[spec.method], spec.atol, spec.rtol, spec.step_size, spec.max_steps,
                   control_l=spec.refresh == "none")
    return rk.integrate(g, s0, s1, y0, l0, mask, grids=grids, record=record)
