"""Pointwise conditional information: pmi = log p(x | c) - log p(x | null) per row."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..derived.pmi import NULL_CONDITION_ID, with_pmi
from .bootstrap import bootstrap_ci

GROUP_COLUMNS = ("text_variant", "is_true_speaker", "perturbation", "hyp_index")


def without_null_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Return df without its null-condition rows (condition_id 'null_condition')."""
    if "condition_id" not in df.columns:
        return df
    return df[df["condition_id"].astype(str) != NULL_CONDITION_ID]


def group_column(df: pd.DataFrame) -> str:
    """Return the study's condition column to group pmi by (condition_id when none is known)."""
    return next((c for c in GROUP_COLUMNS if c in df.columns), "condition_id")


def pmi_table(df: pd.DataFrame, by: str | None = None, seed: int = 0) -> pd.DataFrame:
    """Return per study condition: n, mean pmi in bits and bits/dim with 95% bootstrap CIs
    (over samples), from rows with a null row (the null rows themselves left out)."""
    d = with_pmi(df)
    d = without_null_rows(d[d["pmi_bits"].notna()])
    if d.empty:
        raise ValueError(f"no ok rows with an ok null row (condition_id {NULL_CONDITION_ID!r}): "
                         "run the study with study.null_condition=true")
    by = by or group_column(d)
    rows = []
    for key, g in d.groupby(by, sort=False):
        bits, bpd = g["pmi_bits"].to_numpy(), g["pmi_bpd"].to_numpy()
        lo, hi = bootstrap_ci(bits, seed=seed)
        dlo, dhi = bootstrap_ci(bpd, seed=seed)
        rows.append({by: key, "n": len(g), "mean_pmi_bits": float(np.mean(bits)),
                     "ci_low_bits": lo, "ci_high_bits": hi, "mean_pmi_bpd": float(np.mean(bpd)),
                     "ci_low_bpd": dlo, "ci_high_bpd": dhi,
                     "frac_positive": float((bits > 0).mean())})
    return pd.DataFrame(rows)
