"""Monte-Carlo standard errors of differences between two rows, from their per-probe values.

Each row carries its K per-probe log-densities (`logp_probes`, nats). With probes=shared the
two rows saw the same probes, so the difference is estimated probe by probe and its error is
the standard error of those K differences (the shared noise cancels); with independent probes
the two errors add in quadrature. One probe gives no error (NaN).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

LN2 = math.log(2.0)


def probe_values(cell: object) -> np.ndarray:
    """Return the per-probe log-densities of a `logp_probes` cell ('v1;v2;...'), empty if none."""
    if not isinstance(cell, str) or not cell.strip():
        return np.empty(0)
    return np.array([float(v) for v in cell.split(";")])


def _se(values: np.ndarray) -> float:
    return float(values.std(ddof=1) / math.sqrt(values.size)) if values.size >= 2 else math.nan


def difference_se(row: pd.Series, ref: pd.Series, dims: float) -> float:
    """Return the standard error of (logp(row) - logp(ref)) / (ln 2 * dims) over probes."""
    a, b = probe_values(row.get("logp_probes")), probe_values(ref.get("logp_probes"))
    if a.size < 2 or b.size < 2:
        return math.nan
    scale = LN2 * dims
    if a.size == b.size and row.get("probes") == ref.get("probes") == "shared":
        return _se((a - b) / scale)
    return math.hypot(_se(a / scale), _se(b / scale))


def reference_rows(df: pd.DataFrame, is_ref: pd.Series) -> pd.Series:
    """Return, per row, the index label of its sample's reference row (the first row with
    is_ref and status ok; NaN where the sample has none)."""
    ref = df[is_ref & (df["status"] == "ok")]
    first = pd.Series(ref.index, index=ref["sample_id"].astype(str)).groupby(level=0).first()
    return df["sample_id"].astype(str).map(first)


def with_difference_se(df: pd.DataFrame, ref_row: pd.Series, column: str) -> pd.DataFrame:
    """Return df with `column` = the standard error of each row's difference against the row
    ref_row names (an index label of df, NaN for none), in bits per dim of the row."""
    out = []
    for label, ref in ref_row.items():
        row = df.loc[label]
        if pd.isna(ref) or row.get("status") != "ok":
            out.append(math.nan)
            continue
        out.append(difference_se(row, df.loc[ref], float(row["n_dims"])))
    return df.assign(**{column: out})
