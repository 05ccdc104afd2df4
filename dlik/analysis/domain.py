"""Domain-adaptation table (paper Table 3): WER / bpd / ASV per solver pair."""

from __future__ import annotations

import pandas as pd


def domain_table(df: pd.DataFrame) -> pd.DataFrame:
    """Return mean wer, bpd, asv_cosine per solver pair ('none' first)."""
    ok = df[df["status"] == "ok"]
    if ok.empty:
        raise ValueError("no rows with status ok")
    cols = [c for c in ("wer", "bpd", "asv_cosine") if c in ok.columns]
    t = ok.groupby("solver_pair", sort=False)[cols].mean().reset_index()
    t.insert(1, "n", ok.groupby("solver_pair", sort=False).size().to_numpy())
    return t
