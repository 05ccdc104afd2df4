"""ELBO rows for a study's jobs: each sample's jobs are its candidates, scored together."""

from __future__ import annotations

import math
import time
import traceback
from collections.abc import Callable
from typing import Any

from ..models.base import Adapter, Job, require
from .elbo import ElboSpec, candidate_elbo

ELBO_COLUMNS = ("elbo_nats", "elbo_se_nats", "elbo_bpd", "elbo_draws", "elbo_pruned_after")


def group_by_sample(jobs: list[Job]) -> dict[str, list[Job]]:
    """Return {sample_id: its jobs} in first-seen order (a sample's candidates)."""
    groups: dict[str, list[Job]] = {}
    for job in jobs:
        groups.setdefault(str(job.sample_id), []).append(job)
    return groups


def _error(job: Job, exc: BaseException) -> dict[str, Any]:
    return {**job.columns, "sample_id": job.sample_id, "condition_id": job.condition_id,
            "status": "error", "error": f"{type(exc).__name__}: {exc}"[:500]}


def sample_rows(adapter: Adapter, jobs: list[Job], spec: ElboSpec) -> list[dict[str, Any]]:
    """Return one row per candidate job of one sample: ELBO (nats), its standard error, bpd of
    the ELBO, draws (= network evaluations), the round it was pruned after, wall time."""
    rows, ready = [], []
    for job in jobs:
        try:
            job = job.staged()
            ready.append((job, adapter.prepare(job)))
        except Exception as exc:  # noqa: BLE001 - a bad candidate makes an error row
            rows.append(_error(job, exc))
    if not ready:
        return rows
    start = time.perf_counter()
    try:
        res = candidate_elbo(adapter, [p for _, p in ready], str(jobs[0].sample_id), spec)
    except Exception as exc:  # noqa: BLE001 - the sample fails, the run goes on
        traceback.print_exc()
        return rows + [_error(j, exc) for j, _ in ready]
    wall = (time.perf_counter() - start) / len(ready)
    for i, (job, prep) in enumerate(ready):
        elbo, d = float(res.elbo[i]), int(res.n_dims[i])
        rows.append({**job.columns, **prep.columns, "sample_id": job.sample_id,
                     "condition_id": job.condition_id, "elbo_nats": elbo,
                     "elbo_se_nats": float(res.se[i]), "elbo_bpd": -elbo / (math.log(2) * d),
                     "elbo_draws": int(res.draws[i]), "elbo_pruned_after": res.pruned_after[i],
                     "n_dims": d, "nfe": int(res.draws[i]), "wall_s": wall,
                     "status": "ok" if math.isfinite(elbo) else "nonfinite",
                     "estimator": "elbo"})
    return rows


def elbo_rows(adapter: Adapter, jobs: list[Job], spec: ElboSpec | None = None,
              sink: Callable[[dict], None] | None = None) -> list[dict[str, Any]]:
    """Return (and hand to sink) ELBO rows for every job, candidates grouped by sample id."""
    require(adapter, "score")
    spec = spec or ElboSpec()
    out = []
    for group in group_by_sample(jobs).values():
        for row in sample_rows(adapter, group, spec):
            out.append(row)
            if sink is not None:
                sink(row)
    return out
