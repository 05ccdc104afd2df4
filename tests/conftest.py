"""Shared fixtures: one CPU thread, and the analytic Gaussian batch helper."""

from __future__ import annotations

import os

import pytest
import torch

os.environ.setdefault("NUMBA_CACHE_DIR", os.path.expanduser("~/.cache/dlik/numba"))
torch.set_num_threads(1)


@pytest.fixture
def gaussian_batch():
    """Return a function making (adapter, x0, prior_mean, prior_std, cond, exact_logp)."""
    from dlik.models.base import Job
    from dlik.models.gaussian import GaussianAdapter

    def make(n: int = 4, dim: int = 8, prior: str = "terminal", names=None):
        ad = GaussianAdapter(dim=dim, prior=prior)
        names = names or [f"s{i}" for i in range(n)]
        preps = [ad.prepare(Job(name, "c")) for name in names]
        x0 = torch.stack([p.x0 for p in preps])
        cond = {k: torch.stack([p.cond[k] for p in preps]) for k in preps[0].cond}
        pm = torch.stack([p.prior_mean for p in preps])
        ps = torch.stack([p.prior_std for p in preps])
        exact = torch.tensor([p.columns["exact_logp_nats"] for p in preps], dtype=torch.float64)
        return ad, x0, pm, ps, cond, exact

    return make
