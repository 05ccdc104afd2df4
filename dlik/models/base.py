"""What the runner needs from a model adapter: prepare a job into tensors, and a drift."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import torch


@dataclass
class Job:
    """One likelihood to compute: keys and variant columns go to the CSV, payload does not."""

    sample_id: str
    condition_id: str
    columns: dict[str, Any] = field(default_factory=dict)
    payload: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        """Return (sample_id, condition_id), the row's identity in the CSV."""
        return (str(self.sample_id), str(self.condition_id))


@dataclass
class Prepared:
    """Unbatched tensors for one job; rows with equal bucket keys can share a batch."""

    x0: torch.Tensor
    mask: torch.Tensor | None = None
    prior_mean: torch.Tensor | float = 0.0
    prior_std: torch.Tensor | float = 1.0
    cond: dict[str, torch.Tensor] = field(default_factory=dict)
    columns: dict[str, Any] = field(default_factory=dict)

    @property
    def bucket_key(self) -> tuple:
        """Return the shape/dtype key: only equal keys may be batched together."""
        return (tuple(self.x0.shape), self.x0.dtype)


class Adapter(Protocol):
    """A model seen by the runner: turns jobs into tensors and evaluates the PF-ODE drift."""

    model_id: str
    device: torch.device

    def weights_hash(self) -> str:
        """Return a short hash of the weights and model settings."""

    def prepare(self, job: Job) -> Prepared:
        """Return the tensors of one job (raise on a bad sample: the runner logs an error row)."""

    def drift(self, x: torch.Tensor, t: torch.Tensor, cond: dict) -> torch.Tensor:
        """Return the probability-flow drift f(x, t | cond), shaped like x."""
