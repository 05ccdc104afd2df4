"""Probes refreshed per stage, errors with their degrees of freedom, checked replays, rows
that do not depend on their batch, and integrations that stop at once when they cannot go on.
The numbers are checked against the analytic Gaussian's closed form (rotated covariance, where
Hutchinson probes carry noise)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import dlik
from dlik.engine import log_likelihood
from dlik.engine.errors import block_error, t_quantile
from dlik.models.base import Job
from dlik.models.gaussian import GaussianAdapter
from dlik.scoring.batches import stack_prepared


def _rotated(n: int, dim: int = 16):
    ad = GaussianAdapter(dim=dim, prior="standard", covariance="full")
    preps = [ad.prepare(Job(f"g{i}", "c")) for i in range(n)]
    b = stack_prepared(preps)
    target = torch.tensor([p.columns["target_bpd"] for p in preps])
    return ad, b, target


def test_rotated_gaussian_closed_form_is_what_an_exact_solve_returns():
    ad, b, target = _rotated(8)
    exact = torch.tensor([float(p) for p in target])
    r = log_likelihood(ad.drift, b.x0, b.prior_mean, b.prior_std, cond=b.cond,
                       estimator="exact", atol=1e-10, rtol=1e-10, t_start=1e-7)
    assert float((r.bpd - exact).abs().max()) < 1e-6
    # the rotation makes the Jacobian dense: a Rademacher probe is no longer exact
    r1 = log_likelihood(ad.drift, b.x0, b.prior_mean, b.prior_std, cond=b.cond,
                        method="rk4", step_size=0.05, t_start=1e-3)
    assert float((r1.bpd - exact).abs().max()) > 1e-2


def test_refresh_is_unbiased_and_far_less_noisy_at_the_same_cost():
    ad, b, target = _rotated(96)
    kw = dict(cond=b.cond, method="rk4", step_size=0.04, t_start=1e-3, n_probes=2)
    fixed = log_likelihood(ad.drift, b.x0, b.prior_mean, b.prior_std, **kw)
    fresh = log_likelihood(ad.drift, b.x0, b.prior_mean, b.prior_std, refresh="stage", **kw)
    assert torch.equal(fixed.nfe, fresh.nfe)  # same steps, same network calls
    ef, er = (fixed.bpd - target).numpy(), (fresh.bpd - target).numpy()
    assert er.std() < fixed.bpd.new_tensor(ef.std()).item() / 3
    # unbiased: the mean error is within 3 standard errors of the mean (bias of rk4 and
    # of t_start included, both far below the probe noise here)
    assert abs(er.mean()) < 3 * er.std() / math.sqrt(len(er))
    # fixed probes: one degree of freedom per row; refreshed: many more from the time blocks
    assert set(fixed.se_dof.tolist()) == {1.0}
    assert float(fresh.se_dof.median()) > 3


def test_stated_t_intervals_cover_the_closed_form_95_percent_of_256_rows():
    ad, b, target = _rotated(256)
    r = log_likelihood(ad.drift, b.x0, b.prior_mean, b.prior_std, cond=b.cond, method="rk4",
                       step_size=0.04, t_start=1e-3, n_probes=2, refresh="stage")
    q = np.array([t_quantile(d) for d in r.se_dof.tolist()])
    cover = np.mean(np.abs((r.bpd - target).numpy()) <= q * r.bpd_se.numpy())
    assert 0.93 <= cover <= 0.97, cover


def test_block_error_reduces_to_the_probe_error_with_one_block():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, 3, 1))
    se, dof = block_error(x)
    assert np.allclose(se, x[:, :, 0].std(1, ddof=1) / math.sqrt(3))
    assert np.all(dof == 2)
    # G equal blocks: G (K - 1) degrees of freedom; one noisy block dominates: K - 1
    equal = np.stack([np.eye(2)[0] * 0 + [1.0, -1.0]] * 4, axis=1)  # (2, 4) per row
    assert block_error(equal[None])[1][0] == pytest.approx(4.0)
    one = np.zeros((1, 2, 4))
    one[0, :, 0] = [1.0, -1.0]
    assert block_error(one)[1][0] == pytest.approx(1.0)
    assert t_quantile(1) == pytest.approx(12.7062, abs=1e-3)
    assert t_quantile(0) == math.inf and t_quantile(float("nan")) == math.inf


class _TwoWidths(GaussianAdapter):
    """The analytic Gaussian whose condition 'sharp' shrinks every std 50x (x0 one broad std
    from the mean), so its field is far stiffer near t = 0 than the 'broad' condition's."""

    def prepare(self, job):
        p = super().prepare(job)
        k = 0.02 if job.payload.get("condition") == "sharp" else 1.0
        m, s, mu = p.cond["m"], p.cond["s"] * k, p.cond["mu"]
        mean1, var1 = self.sde.marginal(torch.ones(1, dtype=torch.float64), m[None], s[None],
                                        mu[None])
        x0 = m + p.cond["s"]
        exact = float(self.sde.exact_logp(x0[None], m[None], s[None])[0])
        return type(p)(x0=x0, prior_mean=mean1[0], prior_std=var1[0].sqrt(),
                       cond={**p.cond, "s": s}, columns={**p.columns, "exact_logp_nats": exact})


def test_a_replay_past_tolerance_falls_back_to_own_steps_and_says_so():
    model = _TwoWidths(dim=16, prior="terminal")
    x = np.zeros(16)  # replaced by each condition's mean
    conds = [{"condition": "broad"}, {"condition": "sharp"}]  # broad pilots, sharp replays
    kw = dict(solver="dopri5_1e-3", n_probes=1, estimator="exact", t_start=1e-5)
    loose = dlik.score(model, [x], conds, replay_slack=math.inf, **kw)
    checked = dlik.score(model, [x], conds, **kw)
    sharp_l, sharp_c = loose.iloc[1], checked.iloc[1]
    assert sharp_l["status"] == "ok" and sharp_l["steps"] == "shared"
    assert sharp_l["replay_err"] > 1  # measured, even where not acted on
    assert sharp_c["steps"] == "own" and sharp_c["replay_err"] > 1
    err_l = abs(sharp_l["logp_nats"] - sharp_l["exact_logp_nats"])
    err_c = abs(sharp_c["logp_nats"] - sharp_c["exact_logp_nats"])
    assert err_c < err_l / 4, (err_c, err_l)
    assert checked.iloc[0]["steps"] == "shared" and math.isnan(checked.iloc[0]["replay_err"])


def test_a_nan_drift_stops_an_adaptive_row_at_once():
    def nan_drift(x, t, c):
        return x * float("nan")

    x0 = torch.randn(2, 8, dtype=torch.float64)
    r = log_likelihood(nan_drift, x0, method="dopri5", estimator="exact")
    assert r.status == ["nonfinite", "nonfinite"]
    assert int(r.nfe.max()) <= 2


def test_default_seeds_follow_the_row_not_its_position():
    ad, b, _ = _rotated(3)
    kw = dict(method="rk4", step_size=0.1, t_start=1e-3, n_probes=2, refresh="stage")
    r = log_likelihood(ad.drift, b.x0, b.prior_mean, b.prior_std, cond=b.cond, **kw)
    o = torch.tensor([2, 0, 1])
    rr = log_likelihood(ad.drift, b.x0[o], b.prior_mean[o], b.prior_std[o],
                        cond={k: v[o] for k, v in b.cond.items()}, **kw)
    assert torch.equal(r.logp[o], rr.logp)
