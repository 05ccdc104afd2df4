"""One study run into a results directory: lock, resume, provenance, writer, derived columns,
and the footer (the study's table and the solver's measured error) printed at the end."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from ..experiments.base import Study
from ..io.lock import hold, lock_path
from ..io.provenance import dlik_version, git_commit
from ..io.results import read_results
from ..io.writer import MEASURE_COLUMNS, PROVENANCE_COLUMNS, ResultWriter, read_done_keys
from ..models.base import Adapter
from .outcome import empty_note, failure
from .runner import Runner, RunStats, ScoreSettings

RESUME_HINT = "run the same command again to resume (resume=true is the default)"


class RunInterrupted(RuntimeError):
    """The run was stopped by SIGINT/SIGTERM after flushing its rows; `signum` says which."""

    def __init__(self, message: str, signum: int) -> None:
        super().__init__(message)
        self.signum = signum


class _Stop(BaseException):
    """Raised by the signal handler; a BaseException so no per-row handler swallows it."""


def results_name(shard: tuple[int, int] | None) -> str:
    """Return the CSV file name for a shard (results.csv when not sharded)."""
    return "results.csv" if shard is None else f"results.shard{shard[0]}of{shard[1]}.csv"


def csv_columns(study: Study, adapter: Adapter) -> list[str]:
    """Return the CSV header: keys, study variant columns, measures, the adapter's columns,
    the study's extras, derived columns, provenance (each name once, first place kept)."""
    keys = ["experiment", "sample_id", "condition_id", *study.key_columns]
    cols = [*keys, *MEASURE_COLUMNS, *adapter.columns, *study.extra_columns,
            *study.derived_columns, *PROVENANCE_COLUMNS]
    return list(dict.fromkeys(cols))


def _text(v: Any) -> str:
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return ""
    return repr(float(v)) if isinstance(v, float) else str(v)


def fill_derived(path: Path, study: Study) -> pd.DataFrame:
    """Fill the study's derived columns (e.g. delta bpd vs own text) once every row is in:
    rows are written blank there; here only those columns change (the other cells keep their
    exact text) and the file is replaced atomically."""
    df = read_results(path)
    if not study.derived_columns:
        return df
    df = study.derive(df)
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    if len(raw) != len(df):
        raise ValueError(f"derive() changed the number of rows ({len(raw)} -> {len(df)})")
    for c in study.derived_columns:
        raw[c] = [_text(v) for v in df[c].tolist()]
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        raw.to_csv(tmp, index=False, lineterminator="\n")
        os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if not isinstance(exc, OSError):
            raise
        raise OSError(exc.errno, f"cannot fill the derived columns {study.derived_columns} of "
                      f"{path} ({exc.strerror or exc}); its rows are intact: free space and run "
                      f"`dlik merge {path.parent}` or the same command again") from exc
    return df


def _check_config(path: Path, chash: str) -> None:
    if not path.exists() or path.stat().st_size == 0:
        return
    old = pd.read_csv(path, usecols=["config_hash"], dtype=str)["config_hash"].dropna().unique()
    if len(old) and chash not in old:
        raise ValueError(
            f"{path} holds rows of another config (config_hash {sorted(old)} != {chash}); "
            "pass run_name=<new name> or resume=false")


@contextmanager
def _signals_raise() -> Iterator[None]:
    """Turn SIGINT and SIGTERM into _Stop for the block (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise _Stop(signum)

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def run_study(study: Study, adapter: Adapter, settings: ScoreSettings, out_dir: Path,
              experiment: str, chash: str, resume: bool = True,
              shard: tuple[int, int] | None = None, progress: bool = True,
              config_yaml: str | None = None) -> tuple[Path, RunStats]:
    """Score the study's jobs into out_dir/results*.csv and return (path, stats).

    Holds out_dir/results*.csv.lock for the whole run (a second run into the same file is
    refused), sets `study.out_dir = out_dir` (studies that save files beside the CSV),
    writes config_yaml to out_dir/config.yaml when given, and on SIGINT/SIGTERM stops with
    every finished row flushed, raising RunInterrupted.
    """
    from ..analysis.resolution import solver_note
    from ..analysis.tables import render_study_table

    out_dir.mkdir(parents=True, exist_ok=True)
    study.out_dir = out_dir  # for studies that save files (e.g. images) beside the CSV
    path = out_dir / results_name(shard)
    written: list[int] = [0, 0]  # rows of this run, rows in the file
    try:
        with hold(lock_path(path)), _signals_raise():
            if config_yaml is not None:
                _replace_text(out_dir / "config.yaml", config_yaml)
            stats = _run_locked(study, adapter, settings, path, experiment, chash, resume,
                                shard, progress, written)
            df = fill_derived(path, study)
            empty = empty_note(df, path, shard)
            if empty:  # a shard with no jobs (more shards than samples): its empty CSV, exit 0
                print(empty)
                return path, stats
            if (failed := failure(df)) is not None:
                raise failed
            try:
                table = render_study_table(study.table, df)
            except ValueError as exc:  # say why the rows failed, not which table it can't make
                raise (failure(df, exc) or exc) from None
            note = solver_note(settings.solver.columns(), adapter.model_id)
            print(table if note in table else f"{table}\n{note}")  # most tables carry it
    except (_Stop, KeyboardInterrupt) as exc:
        signum = exc.args[0] if isinstance(exc, _Stop) else signal.SIGINT
        raise RunInterrupted(
            f"stopped by {signal.Signals(signum).name}: {written[0]} rows of this run were "
            f"flushed to {path} ({written[1]} rows in it); {RESUME_HINT}", int(signum)) from None
    return path, stats


def _replace_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _run_locked(study: Study, adapter: Adapter, settings: ScoreSettings, path: Path,
                experiment: str, chash: str, resume: bool, shard: tuple[int, int] | None,
                progress: bool, written: list[int]) -> RunStats:
    """Score into path (lock held); written[0], written[1] count rows written and in the file."""
    if path.exists() and not resume:
        path.rename(path.with_name(f"{path.stem}.{time.strftime('%Y%m%d-%H%M%S')}.bak.csv"))
    _check_config(path, chash)
    provenance: dict[str, Any] = {
        "experiment": experiment, "model_id": adapter.model_id,
        "checkpoint_hash": adapter.weights_hash(), "config_hash": chash,
        **settings.solver.columns(), "seed": settings.seed, "device": str(adapter.device),
        "dlik_version": dlik_version(), "git_commit": git_commit(),
    }
    done = read_done_keys(path) if resume else set()
    jobs = study.jobs()
    with ResultWriter(path, csv_columns(study, adapter)) as writer:
        written[1] = writer.n_rows

        def sink(row: dict[str, Any]) -> None:
            writer.write({**provenance, **row})
            written[0], written[1] = written[0] + 1, writer.n_rows

        stats = Runner(adapter, settings, sink, progress=progress).run(jobs, done=done,
                                                                       shard=shard)
    print(f"[dlik] {experiment}: {stats.scored} scored, {stats.errors} not ok (see the status "
          f"and error columns), {stats.skipped} already done -> {path}")
    return stats
