"""What every loop over prepared rows shares: equal-shape batches flushed with a row-by-row
retry, the batch tensors stacked from prepared rows, and one probe seed per row."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import torch

from ..engine import row_probe_seed
from ..models.base import Job, Prepared

T = TypeVar("T")


def stack(values: Sequence[Any], like: torch.Tensor) -> torch.Tensor:
    """Return per-row values (tensors or scalars) broadcast to like's row shape and stacked."""
    return torch.stack([torch.as_tensor(v, device=like.device).expand(like.shape[1:])
                        for v in values])


@dataclass
class Stacked:
    """An equal-shape batch as the engine takes it: x0, the mask (None when no row has one),
    cond (None when empty), and the prior's mean and std broadcast to x0."""

    x0: torch.Tensor
    mask: torch.Tensor | None
    cond: dict[str, torch.Tensor] | None
    prior_mean: torch.Tensor
    prior_std: torch.Tensor


def stack_prepared(preps: Sequence[Prepared]) -> Stacked:
    """Return the batch tensors of equal-shape prepared rows."""
    x0 = torch.stack([p.x0 for p in preps])
    mask = None
    if any(p.mask is not None for p in preps):
        mask = torch.stack([torch.ones_like(p.x0) if p.mask is None else p.mask.expand_as(p.x0)
                            for p in preps])
    cond = {k: torch.stack([p.cond[k] for p in preps]) for k in preps[0].cond}
    return Stacked(x0, mask, cond or None, stack([p.prior_mean for p in preps], x0),
                   stack([p.prior_std for p in preps], x0))


def probe_seeds(jobs: Sequence[Job], probes: str, seed: int) -> list[int]:
    """Return each job's probe seed (engine.row_probe_seed: from its sample id under shared
    probes, so every condition of a sample sees the same probe)."""
    return [row_probe_seed(probes, j.sample_id, j.condition_id, seed) for j in jobs]


class Batches(Generic[T]):
    """Items bucketed by a shape key and scored `size` at a time.

    score(batch) returns one row per item; a batch that raises is retried item by item, and
    an item that raises alone becomes error_row(item, exc). Rows go to emit as batches finish.
    """

    def __init__(self, size: int, score: Callable[[list[T]], list[dict]],
                 error_row: Callable[[T, Exception], dict],
                 emit: Callable[[list[dict]], None]) -> None:
        self.size, self.score, self.error_row, self.emit = size, score, error_row, emit
        self._buckets: dict[Any, list[T]] = {}

    def add(self, key: Any, item: T) -> None:
        """Add item to its bucket; score the bucket once it holds `size` items."""
        bucket = self._buckets.setdefault(key, [])
        bucket.append(item)
        if len(bucket) >= self.size:
            self.emit(self._flush(self._buckets.pop(key)))

    def finish(self) -> None:
        """Score every bucket still open, in the order the buckets were opened."""
        for key in list(self._buckets):
            self.emit(self._flush(self._buckets.pop(key)))

    def _flush(self, batch: list[T]) -> list[dict]:
        try:
            return self.score(batch)
        except Exception as exc:  # noqa: BLE001 - one bad batch must not stop the run
            if len(batch) == 1:
                return [self.error_row(batch[0], exc)]
            return [row for item in batch for row in self._flush([item])]
