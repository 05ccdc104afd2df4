"""Null-condition rows for pmi: one extra job per sample scored under the adapter's null."""

from __future__ import annotations

from typing import Any

from ..derived.pmi import NULL_CONDITION_ID, PMI_COLUMNS
from ..models.base import Job

__all__ = ["NULL_CONDITION_ID", "PMI_COLUMNS", "with_null_rows"]


def with_null_rows(jobs: list[Job], columns: dict[str, Any]) -> list[Job]:
    """Return jobs plus, after each sample's jobs, one job with condition_id 'null_condition':
    the sample's first job with `columns` over its columns and payload null_condition=True (the
    adapter decides what the null condition is)."""
    firsts: dict[str, Job] = {}
    for job in jobs:
        firsts.setdefault(job.sample_id, job)
    if any(j.condition_id == NULL_CONDITION_ID for j in jobs):
        raise ValueError(f"condition_id {NULL_CONDITION_ID!r} is reserved for the null rows")
    out: list[Job] = []
    last = {j.sample_id: i for i, j in enumerate(jobs)}
    for i, job in enumerate(jobs):
        out.append(job)
        if last[job.sample_id] == i:
            first = firsts[job.sample_id]
            out.append(Job(first.sample_id, NULL_CONDITION_ID, {**first.columns, **columns},
                           {**first.payload, "null_condition": True}, first.stage))
    return out
