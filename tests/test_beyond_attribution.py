"""Shared-path attribution on the Gaussian oracle: each t-bin against its closed form, bins
summing to the one-interval integral, the transport term closing the gap to the exact
log p(x|a) - log p(x|b); the driver's rows, table and figure."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from dlik.analysis.attribution import attribution_figure, attribution_table, bin_columns
from dlik.scoring.attribution import attribution_rows
from dlik.engine.attribution import check_edges, shared_path_attribution, uniform_edges
from dlik.engine.solve import SolverSpec
from dlik.models.base import Job
from dlik.models.gaussian import GaussianAdapter
from dlik.scoring.runner import ScoreSettings

RK4 = SolverSpec("rk4", step_size=0.002, estimator="exact")


def _batch(ad, condition: str, n: int = 3):
    payload = {"null_condition": True} if condition == "null_condition" else {}
    preps = [ad.prepare(Job(f"s{i}", condition, payload=payload)) for i in range(n)]
    cond = {k: torch.stack([p.cond[k] for p in preps]) for k in preps[0].cond}
    prior = (torch.stack([p.prior_mean for p in preps]), torch.stack([p.prior_std for p in preps]))
    exact = torch.tensor([p.columns["exact_logp_nats"] for p in preps], dtype=torch.float64)
    return torch.stack([p.x0 for p in preps]), cond, prior, exact


def _closed_bins(ad, edges, s_a, s_b) -> torch.Tensor:
    """int (div f_a - div f_b) dt over each bin: 1/2 sum_i [log(e^B - 1 + s_i^2)]_a - [..]_b."""
    def f(t, s):
        b = ad.schedule.integral(torch.tensor(t, dtype=torch.float64))
        return 0.5 * torch.log(torch.expm1(b) + s.double() ** 2).sum(-1)
    return torch.stack([f(hi, s_a) - f(hi, s_b) - f(lo, s_a) + f(lo, s_b)
                        for lo, hi in zip(edges[:-1], edges[1:])], 1)


@pytest.mark.parametrize("other", ["null_condition", "other"])
def test_bins_closed_form_sum_and_transport_identity(other):
    ad = GaussianAdapter(dim=6, cond_scale=1.0)
    x0, ca, pa, ea = _batch(ad, "own")
    x0b, cb, pb, eb = _batch(ad, other)
    assert torch.equal(x0, x0b)
    edges = uniform_edges(1e-5, 1.0, 5)
    res = shared_path_attribution(ad.drift, x0, ca, cb, pa, pb, edges, solver=RK4,
                                  score=ad.score)
    assert res.bins.shape == (3, 5) and res.status == ["ok"] * 3
    # each bin against its closed form (the Gaussian's divergence does not depend on x)
    assert (res.bins - _closed_bins(ad, edges, ca["s"], cb["s"])).abs().max() < 1e-6
    # the bins sum to the shared-path decomposition integrated over one interval
    one = shared_path_attribution(ad.drift, x0, ca, cb, pa, pb, [1e-5, 1.0], solver=RK4)
    rel = ((res.shared - one.shared).abs() / one.shared.abs().clamp(min=1e-12)).max()
    assert rel <= 1e-6
    assert torch.allclose(res.shared, res.prior_diff + res.bins.sum(1), rtol=0, atol=1e-12)
    # shared + transport = log p(x | a) - log p(x | b) for the exact score (closed form)
    assert (res.total - (ea - eb)).abs().max() < 1e-5 * (ea - eb).abs().max().clamp(min=1)
    if other == "other":  # same variance, other mean: no divergence difference at all
        assert res.bins.abs().max() < 1e-10 and (res.shared - (ea - eb)).abs().max() > 1e-2


def test_edges_are_checked():
    with pytest.raises(ValueError, match="strictly increasing"):
        check_edges([0.0, 0.5, 0.5, 1.0])
    with pytest.raises(ValueError, match="n_bins"):
        uniform_edges(0.0, 1.0, 0)
    assert uniform_edges(0.0, 1.0, 4) == [0.0, 0.25, 0.5, 0.75, 1.0]


def test_driver_rows_table_and_figure():
    ad = GaussianAdapter(dim=4, cond_scale=1.0)
    jobs = [Job(f"s{i}", v, {"text_variant": v}, {"null_condition": v == "null_condition"})
            for i in range(3) for v in ("own", "other", "null_condition")]
    jobs.append(Job("s0", "moved", {"text_variant": "moved"}, {"x0": [0.0] * 4}))
    settings = ScoreSettings(solver=SolverSpec("rk4", step_size=0.05), batch_size=2)
    rows = attribution_rows(ad, jobs, "own", uniform_edges(1e-5, 1.0, 4), settings,
                            transport=True)
    df = pd.DataFrame(rows)
    assert len(df) == 3 * 2 + 1
    bad = df[df["condition_id"] == "moved"].iloc[0]
    assert bad["status"] == "error" and "same x0" in bad["error"]
    ok = df[df["status"] == "ok"]
    assert len(ok) == 6 and (ok["reference_condition"] == "own").all()
    cols = bin_columns(ok)
    assert cols == [f"dlogp_bin_{k}" for k in range(4)]
    gap = (ok["dlogp_prior"] + ok[cols].sum(axis=1) - ok["dlogp_shared"]).abs().max()
    assert gap < 1e-12
    t = attribution_table(df)
    assert t["text_variant"].tolist() == ["other", "null_condition"]
    assert "t 1e-05-0.25" in t.columns and "transported" in t.columns
    fig = attribution_figure(df)
    assert len(fig.axes[0].patches) >= 2  # one step curve per condition
    # batching does not change a row
    one = pd.DataFrame(attribution_rows(ad, jobs[:3], "own", uniform_edges(1e-5, 1.0, 4),
                                        ScoreSettings(solver=settings.solver, batch_size=1)))
    s0 = ok[ok["sample_id"] == "s0"].set_index("condition_id")
    assert abs(s0.loc[one["condition_id"], "dlogp_shared"].to_numpy()
               - one["dlogp_shared"].to_numpy()).max() < 1e-12
