"""Append-only CSV of results: one fsynced row per (sample, condition), safe to resume."""

from __future__ import annotations

import csv
import io
import math
import os
import signal
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..engine.solve import SOLVER_COLUMNS

MEASURE_COLUMNS = (
    "logp_nats", "bpd", "bpd_se", "se_dof", "prior_logp", "divergence_integral", "n_dims",
    "nfe", "wall_s", "status", "error", "logp_probes", "probe_blocks", "replay_err",
)
PROVENANCE_COLUMNS = (
    "model_id", "checkpoint_hash", "config_hash", *SOLVER_COLUMNS, "seed", "device",
    "batch_size", "dlik_version", "git_commit",
)


class ResultsWriteError(RuntimeError):
    """A row could not be written (disk full, I/O error); the file is left valid."""


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else str(value)
    return str(value)


@contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold SIGINT/SIGTERM back for the block, so a row is never half-written by them."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def complete_rows(data: bytes, name: str = "results CSV") -> tuple[int, int]:
    """Return (byte length, row count) of data's leading complete rows after the header.

    A torn tail (no final newline, too few fields, an unclosed quote) is left out; a bad row
    followed by good ones is corruption, not a torn write, and raises ValueError.
    """
    end = data.rfind(b"\n") + 1
    lines = [line + b"\n" for line in data[:end].split(b"\n")[:-1]]
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    reader = csv.reader((line.decode("utf-8", "replace") for line in lines), strict=True)
    good, n_cols, n_rows = 0, None, -1
    try:
        for rec in reader:
            if n_cols is None:
                n_cols = len(rec)
            elif len(rec) != n_cols:
                if offsets[reader.line_num] != end:
                    raise ValueError(
                        f"{name} is corrupt at line {reader.line_num}: {len(rec)} fields where "
                        f"the header has {n_cols}; fix that line or move the file aside "
                        "(resume=false)")
                break
            good, n_rows = offsets[reader.line_num], n_rows + 1
    except csv.Error as exc:
        if offsets[min(reader.line_num, len(lines))] != end:
            raise ValueError(f"{name} is corrupt near line {reader.line_num} ({exc}); fix it "
                             "or move the file aside (resume=false)") from None
    return good, max(n_rows, 0)


def repair_tail(path: Path) -> int:
    """Cut a torn last row left by a kill or a failed write (it is recomputed on resume) and
    return the number of complete rows; say so on stderr when something was cut."""
    with open(path, "rb+") as fh:
        data = fh.read()
        good, n_rows = complete_rows(data, str(path))
        if good != len(data):
            fh.truncate(good)
            print(f"[dlik] {path}: removed a torn last row ({len(data) - good} bytes) left by "
                  "an interrupted write; it will be scored again", file=sys.stderr)
    return n_rows


def read_done_keys(path: Path) -> set[tuple[str, str]]:
    """Return the (sample_id, condition_id) pairs already written to a results CSV."""
    if not path.exists() or path.stat().st_size == 0:
        return set()
    repair_tail(path)
    with open(path, newline="") as fh:
        return {(r["sample_id"], r["condition_id"]) for r in csv.DictReader(fh)}


def read_header(path: Path) -> list[str]:
    """Return the header of an existing CSV, or [] when there is none."""
    if not path.exists() or path.stat().st_size == 0:
        return []
    with open(path, newline="") as fh:
        return next(csv.reader(fh), [])


class ResultWriter:
    """Writes rows under a fixed header; each row is written whole, flushed and fsynced.

    Writes are unbuffered: a row that fails (e.g. ENOSPC) is cut off again and raises
    ResultsWriteError, so the file always ends with a complete row.
    """

    def __init__(self, path: str | Path, columns: Sequence[str]) -> None:
        self.path = Path(path)
        self.columns = list(columns)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.n_rows = repair_tail(self.path) if self.path.exists() else 0
        existing = read_header(self.path)
        if existing and existing != self.columns:
            raise ValueError(
                f"{self.path} has columns {existing}, this run writes {self.columns}: "
                "use another run_name or resume=false")
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._size = os.fstat(self._fd).st_size
        if not existing:
            self._write_line(self.columns)
            self.n_rows = 0

    def _raw_write(self, data: bytes) -> None:
        """Write all of data to the file (the one place bytes reach the disk)."""
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view):]

    def _write_line(self, cells: Iterable[str]) -> None:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow(cells)
        data = buf.getvalue().encode("utf-8")
        with _signals_deferred():
            try:
                self._raw_write(data)
                os.fsync(self._fd)
            except OSError as exc:
                try:
                    os.ftruncate(self._fd, self._size)
                    state = "the file is valid (the partial row was removed)"
                except OSError:
                    state = "the partial row is removed when the run resumes"
                raise ResultsWriteError(
                    f"cannot write to {self.path}: {exc.strerror or exc} (errno "
                    f"{exc.errno}); {state} and holds {self.n_rows} complete rows. Free disk "
                    "space (or fix the error) and run the same command again to resume"
                ) from exc
        self._size += len(data)
        self.n_rows += 1

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
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> ResultWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
