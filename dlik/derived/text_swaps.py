"""Text swaps: each row's bpd against its sample's own-text row."""

from __future__ import annotations

import pandas as pd


def with_own_delta(df: pd.DataFrame) -> pd.DataFrame:
    """Return df with own_bpd (the sample's own-text ok row) and delta_bpd = bpd - own_bpd
    (NaN where the own-text row is missing or failed): the study's derived column."""
    need = {"sample_id", "text_variant", "bpd", "status"}
    if need - set(df.columns):
        raise ValueError(f"text-swap input lacks columns {sorted(need - set(df.columns))}")
    own = df[(df["text_variant"] == "own") & (df["status"] == "ok")]
    own_bpd = df["sample_id"].map(own.set_index("sample_id")["bpd"])
    return df.assign(own_bpd=own_bpd, delta_bpd=df["bpd"] - own_bpd)
