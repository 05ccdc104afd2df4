"""Domain-adaptation table (paper Table 3): WER / bpd / ASV per solver pair."""

from __future__ import annotations

import pandas as pd

from .generative import mean_ci


def domain_table(df: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Return mean wer, bpd (with its 95% bootstrap CI over utterances), asv_cosine per solver
    pair ('none' first)."""
    ok = df[df["status"] == "ok"]
    if ok.empty:
        raise ValueError("no rows with status ok")
    cols = [c for c in ("wer", "bpd", "asv_cosine") if c in ok.columns]
    groups = ok.groupby("solver_pair", sort=False)
    t = groups[cols].mean().reset_index()
    t.insert(1, "n", groups.size().to_numpy())
    ci = [mean_ci(g["bpd"], seed) for _, g in groups]
    at = list(t.columns).index("bpd") + 1
    t.insert(at, "bpd_ci_low", [c[0] for c in ci])
    t.insert(at + 1, "bpd_ci_high", [c[1] for c in ci])
    return t
