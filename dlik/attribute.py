"""Attribution rows for a study's jobs: each sample's reference condition against its others,
integrated along the reference condition's ODE path (engine/attribution.py)."""

from __future__ import annotations

import math
import time
import traceback
from typing import Any

import torch

from .engine import row_probe_seed
from .engine.attribution import shared_path_attribution
from .estimators.rank import group_by_sample
from .models.base import Adapter, Job, Prepared, require
from .runner import ScoreSettings, _stack, status_message

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
    pa, pb = [a for _, a, _ in batch], [b for _, _, b in batch]
    x0 = torch.stack([p.x0 for p in pa])
    mask = None
    if any(p.mask is not None for p in pa):
        mask = torch.stack([torch.ones_like(p.x0) if p.mask is None else p.mask.expand_as(p.x0)
                            for p in pa])

    def cond(ps):
        return {k: torch.stack([p.cond[k] for p in ps]) for k in ps[0].cond} or None

    def prior(ps):
        return (_stack([p.prior_mean for p in ps], x0), _stack([p.prior_std for p in ps], x0))

    seeds = [row_probe_seed(settings.solver.probes, j.sample_id, j.condition_id, settings.seed)
             for j, _, _ in batch]
    start = time.perf_counter()
    res = shared_path_attribution(adapter.drift, x0, cond(pa), cond(pb), prior(pa), prior(pb),
                                  edges, mask=mask, solver=settings.solver, seeds=seeds,
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
    pending: dict[tuple, list[tuple[Job, Prepared, Prepared]]] = {}
    rows: list[dict] = []

    def flush(batch):
        try:
            rows.extend(_score(adapter, batch, reference, edges, settings, transport))
        except Exception as exc:  # noqa: BLE001 - a bad batch: retry row by row
            if len(batch) == 1:
                traceback.print_exc()
                rows.append(_error(batch[0][0], reference, exc))
            else:
                for item in batch:
                    flush([item])

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
            key = prep_a.bucket_key
            pending.setdefault(key, []).append((job, prep_a, prep_b))
            if len(pending[key]) >= settings.batch_size:
                flush(pending.pop(key))
    for key in list(pending):
        flush(pending.pop(key))
    return rows
