"""encode / decode / SDE sampling on the analytic Gaussian: exact marginals are known."""

from __future__ import annotations

import torch

from dlik.engine.transport import ode_path, sde_path


def test_encode_decode_round_trip(gaussian_batch):
    ad, x0, _, _, cond, _ = gaussian_batch(n=3, dim=5)
    fwd = ode_path(ad.drift, x0, [0.0, 0.5, 1.0], cond=cond, atol=1e-8, rtol=1e-8)
    back = ode_path(ad.drift, fwd[-1], [1.0, 0.0], cond=cond, atol=1e-8, rtol=1e-8)
    assert len(fwd) == 3 and torch.allclose(back[-1], x0, atol=1e-5)


def _one_gaussian(n: int, d: int = 3):
    from dlik.models.base import Job
    from dlik.models.gaussian import GaussianAdapter

    ad = GaussianAdapter(dim=d)
    p = ad.prepare(Job("same", "c"))
    cond = {k: v.expand(n, d).clone() for k, v in p.cond.items()}
    return ad, p, cond


def test_reverse_ode_and_sde_map_terminal_marginal_to_data():
    n, d = 4000, 3
    ad, p, cond = _one_gaussian(n, d)
    gen = torch.Generator().manual_seed(0)
    x1 = p.prior_mean + p.prior_std * torch.randn(n, d, generator=gen, dtype=torch.float64)
    x0 = ode_path(ad.drift, x1, [1.0, 0.0], cond=cond, atol=1e-6, rtol=1e-6)[-1]
    m, s = cond["m"][0], cond["s"][0]
    assert torch.allclose(x0.mean(0), m, atol=4 * s.max() / n**0.5)
    assert torch.allclose(x0.std(0), s, rtol=0.06)
    sch = ad.sde.schedule

    def rev(x, t, c):
        beta = sch.beta(t.double()).view(-1, 1)
        return 0.5 * beta * (c["mu"] - x) - beta * ad.sde.score(x, t, c["m"], c["s"], c["mu"])

    xs = sde_path(rev, lambda t: sch.beta(t.double()).sqrt(), x1, [1.0, 0.5, 0.0],
                  n_steps=400, cond=cond, seed=1)
    assert len(xs) == 3
    assert torch.allclose(xs[-1].mean(0), m, atol=5 * s.max() / n**0.5 + 0.02)
    assert torch.allclose(xs[-1].std(0), s, rtol=0.1)
