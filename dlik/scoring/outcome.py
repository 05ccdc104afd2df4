"""A finished run's outcome line: the rows in its CSV decide what the footer says when there is
no table to print (nothing to score in this shard, or every row failed and why)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

ERROR_CHARS = 120
"""How much of the most common error a footer line quotes."""


class RunFailed(ValueError):
    """Every row of a run failed (or none made the study's table); str() says why."""


def most_common_error(df: pd.DataFrame) -> tuple[int, int, str]:
    """Return (rows not ok, rows with the most common error, that error) of a results frame."""
    status = df["status"].astype(str) if "status" in df else pd.Series(["ok"] * len(df))
    bad = df[status != "ok"]
    if bad.empty:
        return 0, 0, ""
    errors = (bad["error"] if "error" in bad else bad["status"]).fillna(bad["status"])
    counts = errors.astype(str).str.strip().replace("", "(no error text)").value_counts()
    return len(bad), int(counts.iloc[0]), str(counts.index[0])


def empty_note(df: pd.DataFrame, path: Path, shard: tuple[int, int] | None) -> str | None:
    """Return the footer of a sharded run with nothing to score (its CSV holds no rows), else
    None."""
    if len(df) or shard is None:
        return None
    return (f"[dlik] nothing to score: shard {shard[0]}/{shard[1]} holds none of the study's "
            f"jobs; wrote the empty {path.name} (dlik merge joins it with the others)")


def failure(df: pd.DataFrame, table_error: Exception | None = None) -> RunFailed | None:
    """Return the RunFailed of a run whose rows all failed, or whose table could not be made
    while some rows failed (its most common error, not the table's complaint); else None."""
    n_bad, n_top, top = most_common_error(df)
    if not len(df):
        return RunFailed("the run wrote no rows: the study listed no jobs (check its data "
                         "selection, e.g. data.n_utterances / data.n_items)")
    if n_bad == len(df) or (table_error is not None and n_bad):
        text = top if len(top) <= ERROR_CHARS else top[:ERROR_CHARS - 3] + "..."
        return RunFailed(f"{n_bad} of {len(df)} rows failed; most common error "
                         f"({n_top} rows): {text}")
    return None
