"""Monte-Carlo standard errors (with their degrees of freedom) of differences between rows.

Each row carries its K per-probe log-densities (`logp_probes`, nats) and, when its probes were
refreshed per stage, its divergence integral per probe and time block (`probe_blocks`). With
probes=shared the two rows saw the same probes, so the difference is estimated probe by probe
and the shared noise cancels: on one shared step grid (both rows steps=shared, same blocks)
block by block, whose errors are independent (engine/errors.py: Welch-Satterthwaite dof up to
G (K - 1)); otherwise over the K per-probe differences (K - 1 dof). With independent probes
the two errors add in quadrature (Welch's dof). One probe gives no error (NaN, 0 dof).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..engine.errors import block_error

LN2 = math.log(2.0)


def probe_values(cell: object) -> np.ndarray:
    """Return the per-probe log-densities of a `logp_probes` cell ('v1;v2;...'), empty if none."""
    if not isinstance(cell, str) or not cell.strip():
        return np.empty(0)
    return np.array([float(v) for v in cell.split(";")])


def block_values(cell: object) -> np.ndarray | None:
    """Return a `probe_blocks` cell ('K:G:v;v;...') as a (K, G) array, None if empty."""
    if not isinstance(cell, str) or not cell.strip():
        return None
    k, g, values = cell.split(":", 2)
    return np.array([float(v) for v in values.split(";")]).reshape(int(k), int(g))


def _se(values: np.ndarray) -> float:
    return float(values.std(ddof=1) / math.sqrt(values.size)) if values.size >= 2 else math.nan


def _row_error(row: pd.Series, values: np.ndarray) -> tuple[float, float]:
    """Return one row's (se, dof) of values (its per-probe log-densities, scaled)."""
    dof = pd.to_numeric(row.get("se_dof"), errors="coerce")
    return _se(values), float(dof) if pd.notna(dof) and dof > 0 else values.size - 1.0


def difference_error(row: pd.Series, ref: pd.Series, dims: float) -> tuple[float, float]:
    """Return (standard error, degrees of freedom) of (logp(row) - logp(ref)) / (ln 2 * dims)."""
    a, b = probe_values(row.get("logp_probes")), probe_values(ref.get("logp_probes"))
    if a.size < 2 or b.size < 2:
        return math.nan, 0.0
    scale = LN2 * dims
    if a.size == b.size and row.get("probes") == ref.get("probes") == "shared":
        ba, bb = block_values(row.get("probe_blocks")), block_values(ref.get("probe_blocks"))
        if (ba is not None and bb is not None and ba.shape == bb.shape
                and row.get("steps") == ref.get("steps") == "shared"):
            se, dof = block_error((ba - bb) / scale)
            return float(se), float(dof)
        return _se((a - b) / scale), a.size - 1.0
    (sa, da), (sb, db) = _row_error(row, a / scale), _row_error(ref, b / scale)
    va, vb = sa * sa, sb * sb
    dof = (va + vb) ** 2 / (va * va / da + vb * vb / db) if va + vb > 0 else da + db
    return math.hypot(sa, sb), float(dof)


def difference_se(row: pd.Series, ref: pd.Series, dims: float) -> float:
    """Return the standard error of (logp(row) - logp(ref)) / (ln 2 * dims) over probes."""
    return difference_error(row, ref, dims)[0]


def reference_rows(df: pd.DataFrame, is_ref: pd.Series) -> pd.Series:
    """Return, per row, the index label of its sample's reference row (the first row with
    is_ref and status ok; NaN where the sample has none)."""
    ref = df[is_ref & (df["status"] == "ok")]
    first = pd.Series(ref.index, index=ref["sample_id"].astype(str)).groupby(level=0).first()
    return df["sample_id"].astype(str).map(first)


def with_difference_se(df: pd.DataFrame, ref_row: pd.Series, column: str) -> pd.DataFrame:
    """Return df with `column` = the standard error of each row's difference against the row
    ref_row names (an index label of df, NaN for none), in bits per dim of the row, and
    `column`_dof its degrees of freedom."""
    se, dof = [], []
    for label, ref in ref_row.items():
        row = df.loc[label]
        if pd.isna(ref) or row.get("status") != "ok":
            se.append(math.nan)
            dof.append(math.nan)
            continue
        s, d = difference_error(row, df.loc[ref], float(row["n_dims"]))
        se.append(s)
        dof.append(d)
    return df.assign(**{column: se, f"{column}_dof": dof})
