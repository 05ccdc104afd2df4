"""Pointwise conditional information per row: pmi = log p(x | c) - log p(x | null), against
the sample's null-condition row."""

from __future__ import annotations

import math

import pandas as pd

NULL_CONDITION_ID = "null_condition"
"""condition_id of a sample's null-condition row (experiments/null_rows.py adds them); not
"null", which pandas reads as a missing value."""
PMI_COLUMNS = ["pmi_bits", "pmi_bpd", "pmi_bpd_se"]


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
