"""The paper's numbers (paper_numbers.json, each citing its table) put beside ours.

A value is shown in a `paper_<column>[_<label>]` column next to our `<column>`, on the row
whose key columns match its `row`; values whose row or column our table lacks are listed
under the table instead. `beside(name)` makes every table rendered inside it carry them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path

import pandas as pd

PAPER_FILE = Path(__file__).with_name("paper_numbers.json")
_TABLE: ContextVar[str | None] = ContextVar("dlik_paper_table", default=None)


@lru_cache(maxsize=4)
def load(path: Path = PAPER_FILE) -> dict:
    """Return the parsed paper-numbers file (keys paper, transcribed_from, tables)."""
    data = json.loads(Path(path).read_text())
    for name, t in data.get("tables", {}).items():
        missing = {"source", "setting", "values"} - set(t)
        if missing:
            raise ValueError(f"{path}: table {name!r} lacks {sorted(missing)}")
        for v in t["values"]:
            if {"row", "column", "value"} - set(v):
                raise ValueError(f"{path}: a value of table {name!r} lacks row/column/value: {v}")
    return data


def paper_table(name: str) -> dict | None:
    """Return the paper entry of our table `name` (source, setting, values), or None."""
    return load()["tables"].get(name)


@contextmanager
def beside(name: str | None) -> Iterator[None]:
    """Within the block, tables rendered by formatting.render carry table `name`'s numbers."""
    token = _TABLE.set(name)
    try:
        yield
    finally:
        _TABLE.reset(token)


def current() -> str | None:
    """Return the table name set by the innermost beside(), or None."""
    return _TABLE.get()


def _same(ours, theirs) -> bool:
    try:
        return float(ours) == float(theirs)
    except (TypeError, ValueError):
        return str(ours).strip().lower() == str(theirs).strip().lower()


def _column_name(v: dict) -> str:
    return f"paper_{v['column']}" + (f"_{v['label']}" if v.get("label") else "")


def _describe(v: dict) -> str:
    row = ", ".join(f"{k}={x}" for k, x in v["row"].items())
    label = f" ({v['label']})" if v.get("label") else ""
    return f"{row}: {v['column']}{label} = {v['value']}"


def with_paper(df: pd.DataFrame, name: str) -> tuple[pd.DataFrame, list[str]]:
    """Return (df with paper columns beside the matched ones, note lines citing the source and
    listing the paper values no row of df matches); (df, []) when the paper has no entry."""
    entry = paper_table(name)
    if entry is None:
        return df, []
    out = df.copy()
    unmatched: list[str] = []
    for v in entry["values"]:
        keys = v["row"]
        if v["column"] not in out.columns or set(keys) - set(out.columns):
            unmatched.append(_describe(v))
            continue
        hit = pd.Series(True, index=out.index)
        for k, x in keys.items():
            hit &= out[k].map(lambda ours, x=x: _same(ours, x))
        if not hit.any():
            unmatched.append(_describe(v))
            continue
        col = _column_name(v)
        if col not in out.columns:
            at = list(out.columns).index(v["column"]) + 1
            while at < len(out.columns) and str(out.columns[at]).startswith(
                    (f"paper_{v['column']}", f"{v['column']}_ci")):
                at += 1  # after our CI and the paper's other columns of this measure
            out.insert(at, col, pd.Series([""] * len(out), index=out.index, dtype=object))
        out.loc[hit, col] = str(v["value"])
    notes = [f"paper: {entry['source']} ({load()['cite']}); setting: {entry['setting']}"]
    if not entry["values"]:
        notes[0] += "; no paper values to show beside ours"
    if unmatched:
        notes.append("paper values without a matching row or column here: "
                     + "; ".join(unmatched))
    return out, notes
