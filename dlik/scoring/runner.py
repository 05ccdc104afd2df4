"""The job loop: resume-skip, shard, bucket by shape, batch, score, one row per job."""

from __future__ import annotations

import math
import os
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import torch
from tqdm import tqdm

from ..engine import log_likelihood
from ..engine.solve import SolverSpec
from ..models.base import Adapter, Job, Prepared, require
from ..seeding import stable_int
from .batches import Batches, probe_seeds, stack_prepared


@dataclass(frozen=True)
class ScoreSettings:
    """How each likelihood is computed (the solver spec, the probe seed) and batched."""

    solver: SolverSpec = field(default_factory=SolverSpec)
    seed: int = 0
    batch_size: int = 8

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.solver.net_batch is None:  # the network's call width: the run's batch size
            object.__setattr__(self, "solver", replace(self.solver, net_batch=self.batch_size))


@dataclass
class RunStats:
    """Counts of what a run did."""

    total: int = 0
    skipped: int = 0
    scored: int = 0
    errors: int = 0


def parse_shard(shard: str | None) -> tuple[int, int] | None:
    """Return (i, n) from 'i/n' (0 <= i < n), or None for no sharding."""
    if shard in (None, "", "none"):
        return None
    try:
        i, n = (int(p) for p in str(shard).split("/"))
    except ValueError:
        raise ValueError(f"shard must look like 'i/n' (e.g. 0/4), got {shard!r}") from None
    if not 0 <= i < n:
        raise ValueError(f"shard must satisfy 0 <= i < n, got {shard!r}")
    return i, n


def in_shard(job: Job, shard: tuple[int, int] | None) -> bool:
    """Return True when the job belongs to shard (i, n) by a stable hash of its sample id.

    All conditions of one sample land in the same shard, so a study's derived columns
    (e.g. delta bpd against the sample's own-text row) are complete within each shard.
    """
    if shard is None:
        return True
    return stable_int(job.sample_id) % shard[1] == shard[0]


STOPPED_MEASURES = ("logp_nats", "bpd", "bpd_se", "prior_logp", "divergence_integral",
                    "se_dof")


def status_message(status: str, solver: SolverSpec) -> str | None:
    """Return what a non-ok engine status means and what to do (None for ok)."""
    if status == "nonfinite":
        return ("nonfinite: the ODE state or log-density became NaN/inf during integration "
                "(the drift or its divergence is not finite there); check the input, or run "
                "the model in float64")
    if status == "max_steps":
        return (f"max_steps: solver.max_steps={solver.max_steps} steps were used before "
                f"t_end={solver.t_end}; raise solver.max_steps, loosen solver.atol/rtol, or "
                "use fixed steps (solver=rk4_50steps)")
    return None


def check_unique(jobs: Sequence[Job]) -> None:
    """Raise naming the repeated (sample_id, condition_id) keys when jobs are not unique."""
    seen: set[tuple[str, str]] = set()
    dup = [j.key for j in jobs if j.key in seen or seen.add(j.key)]
    if dup:
        raise ValueError(f"{len(dup)} jobs repeat a (sample_id, condition_id) key, e.g. "
                         f"{dup[:3]}: sample ids in the data (manifest) must be unique")


def probe_cells(values: torch.Tensor) -> str:
    """Return one row's per-probe log-densities (nats) as the CSV cell 'v1;v2;...'."""
    return ";".join(repr(float(v)) for v in values)


def block_cells(blocks: torch.Tensor) -> str:
    """Return one row's divergence integrals per probe and time block (K, G) as the CSV cell
    'K:G:v11;v12;...' (probe-major; nats), from which paired errors get their dof."""
    k, g = blocks.shape
    return f"{k}:{g}:" + ";".join(f"{float(v):.12g}" for v in blocks.flatten())


def _pilots(jobs: Sequence[Job]) -> dict[str, Job]:
    """Return the first job of each input (Job.input_id) in study order: the pilot whose
    adaptive steps the input's other rows replay (fixed by the study, not by shard, resume
    or batch)."""
    first: dict[str, Job] = {}
    for j in jobs:
        first.setdefault(j.input_id, j)
    return first


class Runner:
    """Scores jobs with an adapter through the engine and hands each row to a sink."""

    def __init__(self, adapter: Adapter, settings: ScoreSettings,
                 sink: Callable[[dict[str, Any]], None], progress: bool = True) -> None:
        self.adapter, self.settings, self.sink, self.progress = adapter, settings, sink, progress
        self._pilot_jobs: dict[str, Job] = {}
        self._grids: dict[str, torch.Tensor | None] = {}
        self._pilot_rows: dict[tuple[str, str], dict] = {}
        self._bar: tqdm | None = None
        self._shown = 0.0

    def _progress(self, fraction: float, calls: int) -> None:
        """Show the integrating batch's progress in t and its evaluations on the bar (2/s)."""
        now = time.monotonic()
        if self._bar is None or self._bar.disable or now - self._shown < 0.5:
            return
        self._shown = now
        self._bar.set_postfix_str(f"batch t={min(max(fraction, 0.0), 1.0):.2f} nfe={calls}")

    def _likelihood(self, batch: list[tuple[Job, Prepared]], **kw: Any):
        """Return the engine's result for an equal-shape batch (probes seeded per row)."""
        s = self.settings
        b = stack_prepared([p for _, p in batch])
        return log_likelihood(
            self.adapter.drift, b.x0, b.prior_mean, b.prior_std, mask=b.mask, cond=b.cond,
            solver=s.solver, seeds=probe_seeds([j for j, _ in batch], s.solver.probes, s.seed),
            progress=self._progress, **kw)

    def _pilot_grids(self, batch: list[tuple[Job, Prepared]], start: float) -> None:
        """Integrate alone (network width 1), with error control, the pilot row of each input
        of the batch that has no step sequence yet, so its grid is a function of its input;
        keep its accepted steps (None when the pilot failed: that input's rows then control
        their own steps) and, when the pilot is in the batch, its row."""
        here = {j.key: (j, p) for j, p in batch}
        for job, _ in batch:
            iid = job.input_id
            if iid in self._grids:
                continue
            pilot = self._pilot_jobs.get(iid, job)
            self._grids[iid] = None
            try:
                item = here.get(pilot.key) or (pilot, self.adapter.prepare(pilot.staged()))
                res = self._likelihood([item], record_grids=True, net_batch=1)
            except Exception as exc:  # noqa: BLE001 - the input falls back to own steps
                tqdm.write(f"[dlik] pilot {pilot.key} failed ({type(exc).__name__}: {exc}); "
                           f"rows of {iid!r} control their own steps", file=sys.stderr)
                continue
            if res.status[0] == "ok":
                self._grids[iid] = res.grids[0]
            if pilot.key in here:  # the pilot's own row is its adaptive result
                self._pilot_rows[pilot.key] = self._rows([item], res, start, "shared")[0]

    def _error_row(self, job: Job, exc: BaseException, columns: dict | None = None) -> dict:
        msg = f"{type(exc).__name__}: {exc}".replace("\n", " ")[:500]
        tqdm.write(f"[dlik] error row {job.key}: {msg}", file=sys.stderr)
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            traceback.print_exception(exc)
        return {**job.columns, **(columns or {}), "sample_id": job.sample_id,
                "condition_id": job.condition_id, "status": "error", "error": msg}

    def _score(self, batch: list[tuple[Job, Prepared]]) -> list[dict]:
        """Return one row per (job, prepared) of an equal-shape batch: replayed on the
        pilots' step grids when the solver shares steps, else each row on its own steps."""
        s = self.settings
        start = time.perf_counter()
        if not s.solver.shares_steps:
            return self._rows(batch, self._likelihood(batch), start, s.solver.resolved_steps)
        self._pilot_grids(batch, start)
        rows = {j.key: self._pilot_rows.pop(j.key) for j, _ in batch if j.key in self._pilot_rows}
        rest = [(j, p) for j, p in batch if j.key not in rows]
        replay = [(j, p) for j, p in rest if self._grids[j.input_id] is not None]
        own = [(j, p) for j, p in rest if self._grids[j.input_id] is None]
        if replay:
            res = self._likelihood(replay, grids=[self._grids[j.input_id] for j, _ in replay])
            over = [i for i, e in enumerate(res.replay_err.tolist())
                    if not e <= s.solver.replay_slack and res.status[i] == "ok"]
            replayed = self._rows(replay, res, start, "shared")
            rows.update((j.key, r) for i, ((j, _), r) in enumerate(zip(replay, replayed))
                        if i not in over)
            if over:  # past tolerance on the pilot's grid: these rows take their own steps
                redo = [replay[i] for i in over]
                res2 = self._likelihood(redo)
                for i, (job, _), row in zip(over, redo, self._rows(redo, res2, start, "own")):
                    rows[job.key] = {**row, "replay_err": float(res.replay_err[i])}
        if own:
            res = self._likelihood(own)
            rows.update(zip((j.key for j, _ in own), self._rows(own, res, start, "own")))
        wall = (time.perf_counter() - start) / len(batch)
        return [{**rows.pop(j.key), "wall_s": wall, "batch_size": len(batch)} for j, _ in batch]

    def _rows(self, batch: list[tuple[Job, Prepared]], res, start: float,
              steps: str) -> list[dict]:
        """Return the CSV rows of a scored batch (wall time per row since start)."""
        s = self.settings
        wall = (time.perf_counter() - start) / len(batch)
        rows = []
        for i, (job, prep) in enumerate(batch):
            row = {
                **job.columns, **prep.columns, "sample_id": job.sample_id,
                "condition_id": job.condition_id, "logp_nats": float(res.logp[i]),
                "bpd": float(res.bpd[i]), "bpd_se": float(res.bpd_se[i]),
                "se_dof": float(res.se_dof[i]),
                "logp_probes": probe_cells(res.logp_probes[i]),
                "probe_blocks": "" if res.logp_blocks is None else block_cells(
                    res.logp_blocks[i]),
                "replay_err": math.nan if res.replay_err is None else float(
                    res.replay_err[i]),
                "prior_logp": float(res.prior_logp[i]),
                "divergence_integral": float(res.divergence_integral[i]),
                "n_dims": int(res.n_dims[i]), "nfe": int(res.nfe[i]), "wall_s": wall,
                "status": res.status[i], "batch_size": len(batch), "steps": steps,
                **{c: -float(res.logp[i]) / (math.log(2) * n) for c, n in prep.bpd_dims.items()}}
            msg = status_message(res.status[i], s.solver)
            if msg:  # a stopped integration's values are not a likelihood: leave them NaN
                row.update({c: math.nan for c in (*STOPPED_MEASURES, *prep.bpd_dims)},
                           logp_probes="", probe_blocks="", se_dof=math.nan, error=msg)
            rows.append(row)
        return rows

    def run(self, jobs: Sequence[Job], done: set[tuple[str, str]] = frozenset(),
            shard: tuple[int, int] | None = None) -> RunStats:
        """Score every job not in done (and in the shard); rows go to the sink as they finish.

        Raises before scoring anything when two jobs share a key (a duplicated sample id), or
        when a job asks for the null condition of an adapter that does not declare it.
        """
        check_unique(jobs)
        if any(j.payload.get("null_condition") for j in jobs):
            require(self.adapter, "null_condition")
        self._pilot_jobs = _pilots(jobs)
        mine = [j for j in jobs if in_shard(j, shard)]
        todo = [j for j in mine if j.key not in done]
        stats = RunStats(total=len(mine), skipped=len(mine) - len(todo))
        bar = tqdm(total=len(todo), unit="job", disable=not self.progress, dynamic_ncols=True)
        self._bar = bar

        def emit(rows: list[dict]) -> None:
            for row in rows:
                self.sink(row)
                stats.scored += row.get("status") == "ok"
                stats.errors += row.get("status") != "ok"
            bar.update(len(rows))

        batches = Batches(self.settings.batch_size, self._score,
                          lambda item, exc: self._error_row(item[0], exc, item[1].columns), emit)
        for job in todo:
            try:
                job = job.staged()
                prep = self.adapter.prepare(job)
            except Exception as exc:  # noqa: BLE001 - bad sample -> error row, run goes on
                emit([self._error_row(job, exc)])
                continue
            batches.add(prep.bucket_key, (job, prep))
        batches.finish()
        bar.close()
        return stats
