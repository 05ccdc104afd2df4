"""Attribution rows for a study's jobs: each sample's reference condition against its others,
integrated along the reference condition's ODE path (engine/attribution.py), batched as the
runner batches (scoring/batches.py)."""

from __future__ import annotations

import math
import time
import traceback
from typing import Any

import torch

from ..engine.attribution import shared_path_attribution
from ..estimators.rank import group_by_sample
from ..models.base import Adapter, Job, Prepared, require
from .batches import Batches, probe_seeds, stack_prepared
from .runner import ScoreSettings, status_message

ATTRIBUTION_COLUMNS = ("reference_condition", "dlogp_prior", "dlogp_shared", "dlogp_transported",
                       "bin_edges", "nfe", "wall_s", "status", "error")


def bin_columns(n_bins: int, transport: bool) -> list[str]:
    """Return dlogp_bin_0..K-1 (and transport_bin_0..K-1)."""
    cols = [f"dlogp_bin_{k}" for k in range(n_bins)]
    return cols + ([f"transport_bin_{k}" for k in range(n_bins)] if transport else [])


def _error(job: Job, reference: str, exc: BaseException) -> dict[str, Any]:
    return {**job.columns, "sample_id": job.sample_id, "condition_id": job.condition_id,
            "reference_condition": reference, "status": "error",
            "error": f"{type(exc).__name__}: {exc}"[:500]}


def _score(adapter: Adapter, batch: list[tuple[Job, Prepared, Prepared]], reference: str,
           edges: list[float], settings: ScoreSettings, transport: bool) -> list[dict]:
    """Return attribution rows of one batch of (job b, prepared a, prepared b), equal shapes."""
    a = stack_prepared([p for _, p, _ in batch])
    b = stack_prepared([p for _, _, p in batch])
    seeds = probe_seeds([j for j, _, _ in batch], settings.solver.probes, settings.seed)
    start = time.perf_counter()
    res = shared_path_attribution(adapter.drift, a.x0, a.cond, b.cond,
                                  (a.prior_mean, a.prior_std), (b.prior_mean, b.prior_std),
                                  edges, mask=a.mask, solver=settings.solver, seeds=seeds,
                                  score=adapter.score if transport else None)
    wall = (time.perf_counter() - start) / len(batch)
    rows = []
    for i, (job, _, prep_b) in enumerate(batch):
        row = {**job.columns, **prep_b.columns, "sample_id": job.sample_id,
               "condition_id": job.condition_id, "reference_condition": reference,
               "dlogp_prior": float(res.prior_diff[i]), "dlogp_shared": float(res.shared[i]),
               "bin_edges": " ".join(f"{e:g}" for e in edges), "nfe": int(res.nfe[i]),
               "wall_s": wall, "status": res.status[i]}
        row.update({f"dlogp_bin_{k}": float(v) for k, v in enumerate(res.bins[i])})
        if transport:
            row["dlogp_transported"] = float(res.total[i])
            row.update({f"transport_bin_{k}": float(v) for k, v in enumerate(res.transport[i])})
        msg = status_message(res.status[i], settings.solver)
        if msg:  # a stopped integration's measures are not an attribution: leave them empty
            measures = ("dlogp_prior", "dlogp_shared", "dlogp_transported",
                        *bin_columns(len(res.bins[i]), transport))
            row.update({c: math.nan for c in measures if c in row}, error=msg)
        rows.append(row)
    return rows


def attribution_rows(adapter: Adapter, jobs: list[Job], reference: str, edges: list[float],
                     settings: ScoreSettings, transport: bool = False) -> list[dict[str, Any]]:
    """Return one row per (sample, condition != reference): the reference condition's path
    against that condition, on the t-bins of edges (a sample without the reference is skipped).
    Both conditions must give the same x0 (the same data under two conditions)."""
    if transport:
        require(adapter, "score")
    rows: list[dict] = []

    def error_row(item: tuple[Job, Prepared, Prepared], exc: Exception) -> dict[str, Any]:
        traceback.print_exception(exc)
        return _error(item[0], reference, exc)

    batches = Batches(settings.batch_size,
                      lambda batch: _score(adapter, batch, reference, edges, settings, transport),
                      error_row, rows.extend)
    for group in group_by_sample(jobs).values():
        refs = [j for j in group if j.condition_id == reference]
        if not refs:
            continue
        try:
            prep_a = adapter.prepare(refs[0].staged())
        except Exception as exc:  # noqa: BLE001
            rows.extend(_error(j, reference, exc) for j in group if j is not refs[0])
            continue
        for job in group:
            if job is refs[0]:
                continue
            try:
                job = job.staged()
                prep_b = adapter.prepare(job)
                if prep_b.x0.shape != prep_a.x0.shape or not torch.equal(prep_b.x0, prep_a.x0):
                    raise ValueError(f"condition {job.condition_id!r} scores other data than "
                                     f"{reference!r}: attribution needs the same x0 under both")
            except Exception as exc:  # noqa: BLE001
                rows.append(_error(job, reference, exc))
                continue
            batches.add(prep_a.bucket_key, (job, prep_a, prep_b))
    batches.finish()
    return rows
