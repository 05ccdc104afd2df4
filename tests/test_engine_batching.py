"""A row's result does not depend on its batch: per-row step control, compaction, probes."""

from __future__ import annotations

import pytest
import torch

from dlik.engine import log_likelihood, probe_seed


def _score(ad, x0, pm, ps, cond, seeds, **kw):
    return log_likelihood(ad.drift, x0, pm, ps, cond=cond, seeds=seeds, **kw)


def test_row_value_independent_of_batch_and_neighbours(gaussian_batch):
    ad, x0, pm, ps, cond, _ = gaussian_batch(n=6, dim=8)
    seeds = [probe_seed(f"s{i}", "c", 0) for i in range(6)]
    full = _score(ad, x0, pm, ps, cond, seeds, estimator="gaussian")
    for i in range(6):
        one = _score(ad, x0[i:i + 1], pm[i:i + 1], ps[i:i + 1],
                     {k: v[i:i + 1] for k, v in cond.items()}, seeds[i:i + 1],
                     estimator="gaussian")
        assert abs(float(one.bpd[0] - full.bpd[i])) <= 1e-6
        assert int(one.nfe[0]) == int(full.nfe[i])
    perm = torch.tensor([5, 3, 1, 0, 2, 4])
    shuffled = _score(ad, x0[perm], pm[perm], ps[perm], {k: v[perm] for k, v in cond.items()},
                      [seeds[i] for i in perm], estimator="gaussian")
    assert torch.allclose(shuffled.bpd, full.bpd[perm], atol=1e-6, rtol=0)


def test_compaction_with_rows_finishing_at_very_different_times(gaussian_batch):
    """Rows of very different stiffness need very different NFE; batched == alone."""
    ad, x0, pm, ps, cond, exact = gaussian_batch(n=4, dim=6)
    cond = {k: v.clone() for k, v in cond.items()}
    cond["s"][0] = 0.001  # sharp data: stiff near t=0, many steps
    cond["s"][3] = 3.0    # broad data: few steps
    x0 = cond["m"] + cond["s"] * torch.randn(4, 6, dtype=torch.float64,
                                            generator=torch.Generator().manual_seed(0))
    t1 = torch.ones(4, dtype=torch.float64)
    mean1, var1 = ad.sde.marginal(t1, cond["m"], cond["s"], cond["mu"])
    kw = dict(estimator="exact", t_start=0.0, atol=1e-6, rtol=1e-6)
    res = log_likelihood(ad.drift, x0, mean1, var1.sqrt(), cond=cond, **kw)
    assert int(res.nfe[0]) > 2 * int(res.nfe[3])
    exact = ad.sde.exact_logp(x0, cond["m"], cond["s"])
    assert (res.logp - exact).abs().max() / 6 < 1e-4
    for i in range(4):
        one = log_likelihood(ad.drift, x0[i:i + 1], mean1[i:i + 1], var1[i:i + 1].sqrt(),
                             cond={k: v[i:i + 1] for k, v in cond.items()}, **kw)
        assert abs(float(one.logp[0] - res.logp[i])) < 1e-9
        assert int(one.nfe[0]) == int(res.nfe[i])


def test_drift_sees_only_unfinished_rows(gaussian_batch):
    ad, x0, pm, ps, cond, _ = gaussian_batch(n=3, dim=4)
    cond = {k: v.clone() for k, v in cond.items()}
    cond["s"][0] = 0.02
    sizes = []

    def drift(x, t, c):
        sizes.append(x.shape[0])
        if not (x.shape[0] == t.shape[0] == c["m"].shape[0]):
            raise AssertionError("cond not sliced with x")
        return ad.drift(x, t, c)

    log_likelihood(drift, x0, pm, ps, cond=cond, estimator="exact", t_start=0.0,
                   net_batch=None)  # calls as the rows come (no fixed network width)
    assert sizes[0] == 3 and min(sizes) == 1


def test_batched_matches_plain_torchdiffeq_path(gaussian_batch):
    ad, x0, pm, ps, cond, exact = gaussian_batch(n=4, dim=8)
    fast = log_likelihood(ad.drift, x0, pm, ps, cond=cond, integrator="batched")
    plain = [log_likelihood(ad.drift, x0[i:i + 1], pm[i:i + 1], ps[i:i + 1],
                            cond={k: v[i:i + 1] for k, v in cond.items()},
                            integrator="torchdiffeq") for i in range(4)]
    plain_bpd = torch.cat([p.bpd for p in plain])
    assert (fast.bpd - plain_bpd).abs().max() < 1e-4


@pytest.mark.parametrize("change,t_start", [("sqrt", 0.0), ("log", 1e-7)])
def test_time_change_is_accurate(gaussian_batch, change, t_start):
    ad, x0, pm, ps, cond, exact = gaussian_batch(n=3, dim=8)
    res = log_likelihood(ad.drift, x0, pm, ps, cond=cond, t_start=t_start, time_change=change)
    assert (res.logp - exact).abs().max() / 8 < 1e-4


def test_log_time_change_needs_positive_times(gaussian_batch):
    ad, x0, pm, ps, cond, _ = gaussian_batch(n=1, dim=4)
    with pytest.raises(ValueError, match="time_change 'log' needs times > 0"):
        log_likelihood(ad.drift, x0, pm, ps, cond=cond, t_start=0.0, time_change="log")


def test_nonfinite_row_is_flagged_not_fatal(gaussian_batch):
    ad, x0, pm, ps, cond, _ = gaussian_batch(n=3, dim=4)
    x0 = x0.clone()
    x0[1, 0] = float("nan")
    res = log_likelihood(ad.drift, x0, pm, ps, cond=cond, max_steps=200)
    assert res.status[0] == "ok" and res.status[2] == "ok"
    assert res.status[1] in ("nonfinite", "max_steps")


def test_probe_seed_is_stable_and_distinct():
    assert probe_seed("a", "b", 0) == probe_seed("a", "b", 0)
    assert len({probe_seed("a", "b", 0), probe_seed("a", "b", 1), probe_seed("b", "a", 0),
                probe_seed("ab", "", 0)}) == 4


@pytest.mark.parametrize("method", ["dopri5", "bosh3", "rk4"])
def test_divergence_only_at_stages_that_use_it(method):
    """dl/dt is asked for only where the tableau's weights use it (dopri5: 5 of 6 stages per
    step); the result is bitwise the one from computing it at every stage."""
    from dlik.engine.solve import SolverSpec, solve

    y0 = torch.linspace(-1.0, 2.0, 12, dtype=torch.float64).view(3, 4)
    l0 = torch.zeros(3, dtype=torch.float64)
    mask = torch.ones_like(y0)
    spec = SolverSpec(method, 1e-6, 1e-6, step_size=0.05 if method == "rk4" else None)

    def run(honour: bool):
        asked = []

        def func(t, y, idx, need_dl, key=None):
            asked.append(need_dl)
            dy = -y * (1.0 + t.view(-1, 1))
            dl = (torch.sin(3 * y).sum(1) + torch.cos(20 * t)) if (need_dl or not honour) else None
            return dy, dl
        return solve(func, 0.0, 1.0, y0, l0, mask, spec), asked

    skipped, asked = run(honour=True)
    full, _ = run(honour=False)
    assert torch.equal(skipped.y, full.y) and torch.equal(skipped.l, full.l)
    assert torch.equal(skipped.nfe, full.nfe)
    # dopri5: k1 and the initial-step probe, then 6 stages per step, one of them skipped
    skips = (len(asked) - 2) // 6 if method == "dopri5" else 0
    assert skips > 0 or method != "dopri5"
    assert asked.count(False) == skips
