"""Append-only CSV of results: one fsynced row per (sample, condition), safe to resume."""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ..engine.solve import SOLVER_COLUMNS

MEASURE_COLUMNS = (
    "logp_nats", "bpd", "prior_logp", "divergence_integral", "n_dims", "nfe", "wall_s",
    "status", "error",
)
PROVENANCE_COLUMNS = (
    "model_id", "checkpoint_hash", "config_hash", *SOLVER_COLUMNS, "seed", "device",
    "batch_size", "dlik_version", "git_commit",
)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else str(value)
    return str(value)


def _repair_tail(path: Path) -> None:
    """Drop a partial last line left by a kill mid-write (the row is recomputed on resume)."""
    with open(path, "rb+") as fh:
        data = fh.read()
        if data and not data.endswith(b"\n"):
            fh.truncate(data.rfind(b"\n") + 1)


def read_done_keys(path: Path) -> set[tuple[str, str]]:
    """Return the (sample_id, condition_id) pairs already written to a results CSV."""
    if not path.exists() or path.stat().st_size == 0:
        return set()
    _repair_tail(path)
    with open(path, newline="") as fh:
        return {(r["sample_id"], r["condition_id"]) for r in csv.DictReader(fh)}


def read_header(path: Path) -> list[str]:
    """Return the header of an existing CSV, or [] when there is none."""
    if not path.exists() or path.stat().st_size == 0:
        return []
    with open(path, newline="") as fh:
        return next(csv.reader(fh), [])


class ResultWriter:
    """Writes rows under a fixed header; each row is flushed and fsynced as it is written."""

    def __init__(self, path: str | Path, columns: Sequence[str]) -> None:
        self.path = Path(path)
        self.columns = list(columns)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        existing = read_header(self.path)
        if existing and existing != self.columns:
            raise ValueError(
                f"{self.path} has columns {existing}, this run writes {self.columns}: "
                "use another run_name or resume=false")
        if existing:
            _repair_tail(self.path)
        self._fh = open(self.path, "a", newline="")
        if not existing:
            self._write_line(self.columns)

    def _write_line(self, cells: Iterable[str]) -> None:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow(cells)
        self._fh.write(buf.getvalue())
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def write(self, row: dict[str, Any]) -> dict[str, Any]:
        """Append one row and return it as written; missing columns are left empty.

        A row carrying columns the header lacks (an adapter or study emitting an undeclared
        column) is written as an error row naming them, its other values kept, so one
        undeclared column never aborts a run.
        """
        extra = sorted(set(row) - set(self.columns))
        if extra:
            row = {k: v for k, v in row.items() if k in self.columns}
            msg = (f"row has columns not in the header: {extra}; declare them in the "
                   "study's extra_columns")
            row["error"] = f"{row['error']}; {msg}" if row.get("error") else msg
            row["status"] = "error"
        self._write_line(_cell(row.get(c)) for c in self.columns)
        return row

    def close(self) -> None:
        """Close the file."""
        self._fh.close()

    def __enter__(self) -> ResultWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
