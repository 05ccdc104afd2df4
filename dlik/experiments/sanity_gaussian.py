"""Sanity study: the engine against the closed-form likelihood of an analytic Gaussian model."""

from __future__ import annotations


from ..models.base import Job
from .base import StudyBase


class SanityGaussian(StudyBase):
    """n_samples draws, each scored once; rows carry bpd next to the exact bpd."""

    table = "sanity_gaussian"

    key_columns: list[str] = []
    extra_columns: list[str] = []

    def __init__(self, n_samples: int = 64, data=None) -> None:
        if n_samples < 1:
            raise ValueError(f"n_samples must be >= 1, got {n_samples}")
        self.n_samples = int(n_samples)

    def jobs(self) -> list[Job]:
        """Return one job per sample."""
        return [Job(f"gauss-{i:05d}", "analytic") for i in range(self.n_samples)]
