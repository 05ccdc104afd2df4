"""Prompt confounds: each row's bpd against the image's true-prompt row of the same guidance
scale, source (original / reconstruction) and attribute (each attribute's candidate set holds
the true prompt once)."""

from __future__ import annotations

import pandas as pd

GROUP = ("sample_id", "source", "guidance_scale", "attribute")


def true_prompt_rows(df: pd.DataFrame) -> pd.Series:
    """Return, per row, the index label of its group's true-prompt row with status ok (the
    first one; NaN where the group has none)."""
    need = {*GROUP, "is_true_prompt", "status"}
    if need - set(df.columns):
        raise ValueError(f"prompt-confound input lacks columns {sorted(need - set(df.columns))}")
    keys = [df[c].astype(str) for c in GROUP]
    is_true = df["is_true_prompt"].astype(str).str.lower().isin(("true", "1", "1.0"))
    ref = df[is_true & (df["status"] == "ok")]
    first = pd.Series(ref.index, index=pd.MultiIndex.from_arrays(
        [k[ref.index] for k in keys])).groupby(level=list(range(len(GROUP)))).first()
    at = pd.MultiIndex.from_arrays(keys)
    return pd.Series(first.reindex(at).to_numpy(), index=df.index)


def with_true_delta(df: pd.DataFrame) -> pd.DataFrame:
    """Return df with delta_bpd = bpd - bpd of the row's true-prompt row (NaN without one)."""
    ref = true_prompt_rows(df)
    bpd = pd.to_numeric(df["bpd"], errors="coerce")
    ref_bpd = pd.Series([bpd[r] if pd.notna(r) else float("nan") for r in ref], index=df.index)
    return df.assign(delta_bpd=bpd - ref_bpd)
