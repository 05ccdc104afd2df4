"""Sanity study: the engine against the closed-form likelihood of an analytic Gaussian model."""

from __future__ import annotations

import pandas as pd

from ..models.base import Job


class SanityGaussian:
    """n_samples draws, each scored once; rows carry bpd next to the exact bpd."""

    key_columns: list[str] = []
    extra_columns: list[str] = ["exact_logp_nats", "exact_bpd", "prior"]

    def __init__(self, n_samples: int = 64, data=None) -> None:
        if n_samples < 1:
            raise ValueError(f"n_samples must be >= 1, got {n_samples}")
        self.n_samples = int(n_samples)

    def jobs(self) -> list[Job]:
        """Return one job per sample."""
        return [Job(f"gauss-{i:05d}", "analytic") for i in range(self.n_samples)]

    def summarize(self, df: pd.DataFrame) -> str:
        """Return the largest |bpd - exact_bpd| and the mean NFE."""
        ok = df[df["status"] == "ok"]
        if ok.empty:
            return "no rows scored"
        gap = (ok["bpd"] - ok["exact_bpd"]).abs()
        return (f"sanity_gaussian: {len(ok)} rows, max |bpd - exact_bpd| = {gap.max():.3e} "
                f"(mean {gap.mean():.3e}), mean nfe = {ok['nfe'].mean():.1f}")
