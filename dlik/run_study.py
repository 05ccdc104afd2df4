"""Run one study into a results directory: resume, provenance, writer, summary."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pandas as pd

from .analysis.cli import render_study_table
from .experiments.base import Study
from .io.provenance import dlik_version, git_commit
from .io.writer import MEASURE_COLUMNS, PROVENANCE_COLUMNS, ResultWriter, read_done_keys
from .models.base import Adapter
from .runner import Runner, RunStats, ScoreSettings


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


def fill_derived(path: Path, study: Study) -> pd.DataFrame:
    """Fill the study's derived columns (e.g. delta bpd vs own text) once every row is in:
    rows are written blank there and the file is rewritten atomically here."""
    df = pd.read_csv(path)
    if study.derived_columns:
        df = study.derive(df)
        tmp = path.with_name(f".{path.name}.tmp")
        df.to_csv(tmp, index=False)
        os.replace(tmp, path)
    return df


def _check_config(path: Path, chash: str) -> None:
    if not path.exists() or path.stat().st_size == 0:
        return
    old = pd.read_csv(path, usecols=["config_hash"], dtype=str)["config_hash"].dropna().unique()
    if len(old) and chash not in old:
        raise ValueError(
            f"{path} holds rows of another config (config_hash {sorted(old)} != {chash}); "
            "pass run_name=<new name> or resume=false")


def run_study(study: Study, adapter: Adapter, settings: ScoreSettings, out_dir: Path,
              experiment: str, chash: str, resume: bool = True,
              shard: tuple[int, int] | None = None, progress: bool = True) -> tuple[Path, RunStats]:
    """Score the study's jobs into out_dir/results*.csv and return (path, stats)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / results_name(shard)
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
        runner = Runner(adapter, settings, lambda row: writer.write({**provenance, **row}),
                        progress=progress)
        stats = runner.run(jobs, done=done, shard=shard)
    print(f"[dlik] {experiment}: {stats.scored} scored, {stats.errors} errors, "
          f"{stats.skipped} already done -> {path}")
    print(render_study_table(study.table, fill_derived(path, study)))
    return path, stats
