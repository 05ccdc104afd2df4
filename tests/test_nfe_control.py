"""Batched dopri5's step control is torchdiffeq's (the paper's protocol): the same error
estimate and first step, so the same steps, and no more NFE at equal tolerance, with an end
value at least as close to the closed-form likelihood of the analytic Gaussian."""

from __future__ import annotations

import pytest
import torch
from torchdiffeq._impl.dopri5 import Dopri5Solver

from dlik.engine import log_likelihood
from dlik.engine.tableaus import DOPRI5
from dlik.models.base import Job
from dlik.models.gaussian import GaussianAdapter


def _gaussian(n: int, dim: int = 16):
    ad = GaussianAdapter(dim=dim, prior="terminal", dtype="float64")
    preps = [ad.prepare(Job(f"nfe-{i}", "analytic")) for i in range(n)]
    stack = lambda key: torch.stack([getattr(p, key) for p in preps])  # noqa: E731
    cond = {k: torch.stack([p.cond[k] for p in preps]) for k in preps[0].cond}
    exact = torch.tensor([p.columns["exact_bpd"] for p in preps], dtype=torch.float64)
    return ad, stack("x0"), stack("prior_mean"), stack("prior_std"), cond, exact


def _score(drift, x0, pm, ps, cond, integrator: str, tol: float):
    """Return (bpd, nfe) per row; torchdiffeq one row at a time (the paper's batch 1)."""
    rows = [slice(i, i + 1) for i in range(x0.shape[0])] if integrator == "torchdiffeq" \
        else [slice(None)]
    out = [log_likelihood(drift, x0[r], pm[r], ps[r], cond={k: v[r] for k, v in cond.items()},
                          method="dopri5", atol=tol, rtol=tol, integrator=integrator,
                          t_start=0.0) for r in rows]
    return torch.cat([o.bpd for o in out]), torch.cat([o.nfe for o in out])


def test_dopri5_error_weights_are_torchdiffeqs():
    """b - b_hat equals torchdiffeq's c_error (Shampine's embedded solution, 2/3 of the
    Dormand-Prince estimate); b_hat is a consistent quadrature (sums to 1)."""
    ref = Dopri5Solver.tableau.c_error.tolist()
    assert DOPRI5.b_err == pytest.approx(ref, abs=1e-15)
    assert sum(b - e for b, e in zip(DOPRI5.b, DOPRI5.b_err)) == pytest.approx(1.0, abs=1e-15)


def test_step_sequence_is_torchdiffeqs():
    """One row: the drift is evaluated at the same times by both integrators, first step
    included, up to the last step (torchdiffeq steps past t_end and interpolates; dlik ends
    its last step on t_end)."""
    ad, x0, pm, ps, cond, _ = _gaussian(1)
    times: dict[str, list[float]] = {}
    for integ in ("torchdiffeq", "batched"):
        seen: list[float] = []

        def drift(x, t, c, seen=seen):
            seen.append(float(t[0]))
            return ad.drift(x, t, c)

        _score(drift, x0, pm, ps, cond, integ, 1e-6)
        times[integ] = seen
    td, bt = times["torchdiffeq"], times["batched"]
    assert len(td) == len(bt) > 50
    stages = 6  # evaluations per dopri5 step (FSAL)
    assert bt[:-stages] == pytest.approx(td[:-stages], rel=1e-9, abs=1e-12)
    assert bt[-1] == 1.0 < td[-1]


@pytest.mark.parametrize("tol", [1e-5, 1e-7])
def test_nfe_no_more_than_torchdiffeq(tol):
    """Six Gaussian rows: total NFE <= torchdiffeq's x 1.02 and a max bpd error from the closed
    form no larger than torchdiffeq's. (With Dormand-Prince's own estimate and the first-step
    exponent 1/(p+1), the batched controller took 1.058x and 1.049x here.)"""
    ad, x0, pm, ps, cond, exact = _gaussian(6)
    bpd_td, nfe_td = _score(ad.drift, x0, pm, ps, cond, "torchdiffeq", tol)
    bpd_bt, nfe_bt = _score(ad.drift, x0, pm, ps, cond, "batched", tol)
    assert int(nfe_bt.sum()) <= 1.02 * int(nfe_td.sum())
    assert (bpd_bt - exact).abs().max() <= (bpd_td - exact).abs().max()


def test_bench_reports_nfe_ratio_at_equal_tolerance():
    """dlik bench's nfe_ratio_equal_tol: batched dopri5 at the paper's 1e-5 over torchdiffeq's,
    whatever the fast path's settings; it equals the NFE ratio when the fast path is that."""
    from dlik.scoring.bench import bench
    from dlik.engine.solve import SolverSpec

    ad = GaussianAdapter(dim=16, prior="terminal", dtype="float64")
    jobs = [Job(f"nfe-{i}", "analytic") for i in range(3)]
    loose = bench(ad, jobs, 3, SolverSpec("dopri5", 1e-3, 1e-3, "batched"), ref_tol=1e-7)
    assert loose["nfe_ratio_equal_tol"] <= 1.02
    same = bench(ad, jobs, 3, SolverSpec("dopri5", 1e-5, 1e-5, "batched"), ref_tol=1e-7)
    assert same["nfe_ratio_equal_tol"] == 1 / same["speedup_from_nfe"]
