"""Pointwise conditional information: pmi = log p(x | c) - log p(x | null) per row."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .bootstrap import bootstrap_ci

NULL_CONDITION_ID = "null_condition"
"""condition_id of a sample's null-condition row (experiments/null_rows.py adds them); not
"null", which pandas reads as a missing value."""
PMI_COLUMNS = ["pmi_bits", "pmi_bpd", "pmi_bpd_se"]
GROUP_COLUMNS = ("text_variant", "is_true_speaker", "perturbation", "hyp_index")


def without_null_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Return df without its null-condition rows (condition_id 'null_condition')."""
    if "condition_id" not in df.columns:
        return df
    return df[df["condition_id"].astype(str) != NULL_CONDITION_ID]


def with_pmi(df: pd.DataFrame) -> pd.DataFrame:
    """Return df with pmi_bits = (logp_nats - null row's logp_nats) / ln 2 and pmi_bpd =
    pmi_bits / n_dims (positive: the condition makes x more likely); NaN where the sample has
    no ok null row or the row failed. The null row itself gets 0."""
    need = {"sample_id", "condition_id", "logp_nats", "n_dims", "status"}
    if need - set(df.columns):
        raise ValueError(f"pmi input lacks columns {sorted(need - set(df.columns))}")
    cid = df["condition_id"].astype(str)
    null = df[(cid == NULL_CONDITION_ID) & (df["status"] == "ok")]
    null = null.assign(sample_id=null["sample_id"].astype(str)).drop_duplicates("sample_id")
    null_logp = df["sample_id"].astype(str).map(null.set_index("sample_id")["logp_nats"])
    ok = df["status"] == "ok"
    bits = ((df["logp_nats"].astype(float) - null_logp) / math.log(2)).where(ok)
    return df.assign(pmi_bits=bits, pmi_bpd=bits / df["n_dims"].astype(float))


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
