"""Engine vs closed-form answers: analytic Gaussian, linear fields, masks, schedules."""

from __future__ import annotations

import math

import pytest
import torch

from dlik.engine import log_likelihood
from dlik.models.schedules import DiscreteDDPMSchedule, LinearBetaSchedule


@pytest.mark.parametrize("integrator", ["batched", "torchdiffeq"])
def test_gaussian_exact_estimator_matches_closed_form(gaussian_batch, integrator):
    ad, x0, pm, ps, cond, exact = gaussian_batch(n=5, dim=8)
    res = log_likelihood(ad.drift, x0, pm, ps, cond=cond, estimator="exact", t_start=0.0,
                         integrator=integrator, atol=1e-5, rtol=1e-5)
    assert res.status == ["ok"] * 5
    per_dim = (res.logp - exact).abs() / 8
    assert per_dim.max() <= 1e-4, per_dim
    # the parts add up, and bpd is the documented transform of logp
    assert torch.allclose(res.logp, res.prior_logp + res.divergence_integral, atol=0, rtol=0)
    assert torch.allclose(res.bpd, -res.logp / (8 * math.log(2)))


def test_gaussian_tight_tolerance_is_near_exact(gaussian_batch):
    ad, x0, pm, ps, cond, exact = gaussian_batch(n=3, dim=4)
    res = log_likelihood(ad.drift, x0, pm, ps, cond=cond, estimator="exact", t_start=0.0,
                         atol=1e-9, rtol=1e-9)
    assert (res.logp - exact).abs().max() < 1e-6


def test_standard_prior_bias_has_the_documented_size(gaussian_batch):
    """N(mu, I) instead of the terminal marginal moves log p by ~1e-2 nats/dim."""
    ad, x0, pm, ps, cond, exact = gaussian_batch(n=4, dim=8, prior="standard")
    mu = cond["mu"]
    res = log_likelihood(ad.drift, x0, mu, 1.0, cond=cond, estimator="exact", t_start=0.0)
    gap = ((res.logp - exact).abs() / 8).max().item()
    assert 1e-4 < gap < 0.1


def _linear_field(a: torch.Tensor):
    return lambda x, t, cond: x @ a.T


def test_linear_field_divergence_is_trace():
    torch.manual_seed(0)
    d = 6
    a = 0.3 * torch.randn(d, d, dtype=torch.float64)
    x0 = torch.randn(3, d, dtype=torch.float64)
    res = log_likelihood(_linear_field(a), x0, estimator="exact", t_start=0.0, t_end=1.0)
    assert torch.allclose(res.divergence_integral, torch.full((3,), float(a.trace()),
                          dtype=torch.float64), atol=1e-9)
    # endpoint of dx/dt = A x is expm(A) x0
    assert torch.allclose(res.x1, x0 @ torch.linalg.matrix_exp(a).T, atol=1e-4)


@pytest.mark.parametrize("estimator", ["rademacher", "gaussian"])
def test_hutchinson_unbiased_over_many_probes(estimator):
    """Mean of per-seed divergence estimates is within 4 standard errors of tr(A)."""
    torch.manual_seed(1)
    d, n = 5, 400
    a = torch.randn(d, d, dtype=torch.float64)
    x0 = torch.zeros(n, d, dtype=torch.float64)
    res = log_likelihood(_linear_field(a), x0, estimator=estimator, t_start=0.0, t_end=1.0,
                         seeds=list(range(n)), method="euler", step_size=1.0)
    est = res.divergence_integral
    se = est.std() / math.sqrt(n)
    assert abs(est.mean() - a.trace()) < 4 * se + 1e-12
    assert est.std() > 0  # non-diagonal A: single probes really vary


def test_more_probes_reduce_variance():
    torch.manual_seed(2)
    d, n = 5, 200
    a = torch.randn(d, d, dtype=torch.float64)
    x0 = torch.zeros(n, d, dtype=torch.float64)
    kw = dict(estimator="gaussian", t_start=0.0, method="euler", step_size=1.0,
              seeds=list(range(n)))
    one = log_likelihood(_linear_field(a), x0, n_probes=1, **kw).divergence_integral
    eight = log_likelihood(_linear_field(a), x0, n_probes=8, **kw).divergence_integral
    assert eight.var() < one.var() / 3


def test_mask_counts_only_masked_dims(gaussian_batch):
    ad, x0, pm, ps, cond, _ = gaussian_batch(n=3, dim=8)
    mask = torch.zeros_like(x0)
    mask[:, :5] = 1
    mask[1, :] = 1
    res = log_likelihood(ad.drift, x0, pm, ps, mask=mask, cond=cond, estimator="exact",
                         t_start=0.0)
    exact = ad.sde.exact_logp(x0, cond["m"], cond["s"], mask)
    assert res.n_dims.tolist() == [5, 8, 5]
    assert (res.logp - exact).abs().max() / 5 < 1e-4
    hutch = log_likelihood(ad.drift, x0, pm, ps, mask=mask, cond=cond, t_start=0.0)
    assert (hutch.logp - exact).abs().max() / 5 < 1e-4  # diagonal Jacobian: Rademacher exact


def test_ddpm_schedule_continuous_form_tracks_discrete_alphas():
    sch = DiscreteDDPMSchedule()
    n = sch.num_train_timesteps
    betas = torch.linspace(sch.beta_start**0.5, sch.beta_end**0.5, n, dtype=torch.float64) ** 2
    log_abar = torch.cumsum(torch.log1p(-betas), 0)
    t = torch.arange(1, n + 1, dtype=torch.float64) / n
    cont = -sch.integral(t)
    rel = ((cont - log_abar).abs() / log_abar.abs())[10:]
    assert rel.max() < 0.02
    # beta is the derivative of the integral
    tt = torch.tensor([0.3], dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(sch.integral(tt).sum(), tt)
    assert torch.allclose(g, sch.beta(tt.detach()))


def test_linear_schedule_closed_forms():
    sch = LinearBetaSchedule(0.05, 20.0)
    t = torch.tensor([1.0], dtype=torch.float64)
    assert torch.allclose(sch.integral(t), torch.tensor([0.05 + 0.5 * 19.95], dtype=torch.float64))
    assert torch.allclose(sch.var(t), 1 - torch.exp(-sch.integral(t)))


def test_bad_names_raise_with_accepted_values(gaussian_batch):
    ad, x0, pm, ps, cond, _ = gaussian_batch(n=1, dim=2)
    with pytest.raises(ValueError, match="method must be one of .*dopri5"):
        log_likelihood(ad.drift, x0, pm, ps, cond=cond, method="dopri6")
    with pytest.raises(ValueError, match="estimator must be one of"):
        log_likelihood(ad.drift, x0, pm, ps, cond=cond, estimator="hutch")
    with pytest.raises(ValueError, match="integrator must be one of"):
        log_likelihood(ad.drift, x0, pm, ps, cond=cond, integrator="fast")
    with pytest.raises(ValueError, match="fixed-step"):
        log_likelihood(ad.drift, x0, pm, ps, cond=cond, method="rk4", integrator="batched")
    with pytest.raises(ValueError, match="step_size must be > 0 or null, got 0.0"):
        log_likelihood(ad.drift, x0, pm, ps, cond=cond, step_size=0.0)
    with pytest.raises(ValueError, match="torchdiffeq's 'dopri5' ignores step_size"):
        log_likelihood(ad.drift, x0, pm, ps, cond=cond, integrator="torchdiffeq", step_size=0.1)


@pytest.mark.parametrize("method,opts", [("rk4", {"step_size": 0.01}),
                                         ("dopri5", {"step_size": 0.02}),
                                         ("adaptive_heun", {}), ("bosh3", {}),
                                         ("midpoint", {"step_size": 0.005})])
def test_other_methods_agree_with_closed_form(gaussian_batch, method, opts):
    ad, x0, pm, ps, cond, exact = gaussian_batch(n=2, dim=4)
    res = log_likelihood(ad.drift, x0, pm, ps, cond=cond, method=method, t_start=0.0,
                         atol=1e-6, rtol=1e-6, **opts)
    assert (res.logp - exact).abs().max() / 4 < 1e-3, method


def test_fixed_steps_of_an_embedded_pair_converge_at_its_order(gaussian_batch):
    """dopri5 with a step_size takes exactly those steps (1 + 6 NFE per step, FSAL) and its
    error against the closed form falls at least like h^5 (halving h: 32x or more)."""
    ad, x0, pm, ps, cond, exact = gaussian_batch(n=2, dim=4)
    errs = []
    for h in (0.05, 0.025):
        res = log_likelihood(ad.drift, x0, pm, ps, cond=cond, estimator="exact", t_start=0.0,
                             step_size=h, integrator="batched")
        assert res.nfe.tolist() == [1 + 6 * round(1 / h)] * 2
        errs.append(float((res.logp - exact).abs().max()))
    assert errs[0] / errs[1] > 32 and errs[1] < 1e-6, errs
