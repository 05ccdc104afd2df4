"""Generative-path table (paper Table 1): bpd and audio measures per sampler and time."""

from __future__ import annotations

import pandas as pd

MEASURES = ["bpd", "logf0_rmse", "mcd_db", "wer", "asv_cosine"]


def generative_table(df: pd.DataFrame) -> pd.DataFrame:
    """Return mean measures per (sampler, t_saved), real audio first."""
    ok = df[df["status"] == "ok"].copy()
    if ok.empty:
        raise ValueError("no rows with status ok")
    ok["t_saved"] = ok["t_saved"].astype(str).replace({"nan": "-", "": "-"})
    cols = [c for c in MEASURES if c in ok.columns]
    t = ok.groupby(["sampler", "t_saved"], sort=False)[cols].mean().reset_index()
    t.insert(2, "n", ok.groupby(["sampler", "t_saved"], sort=False).size().to_numpy())
    return t
