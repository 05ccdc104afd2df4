"""Text-swap table: delta bpd of each text variant against the utterance's own text."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..derived.text_swaps import with_own_delta
from .bootstrap import bootstrap_ci


def with_deltas(df: pd.DataFrame) -> pd.DataFrame:
    """Return ok rows of non-own variants that have an own-text row, with own_bpd and delta."""
    d = with_own_delta(df)
    if d["own_bpd"].isna().all():
        raise ValueError("no 'own' text rows with status ok: nothing to compare against")
    return d[(d["status"] == "ok") & (d["text_variant"] != "own") & d["own_bpd"].notna()]


def text_agnostic_table(df: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Return per variant: n, mean delta bpd with 95% CI over utterances, the median
    Monte-Carlo standard error of one delta (delta_bpd_se; NaN with one probe), whether the
    CI resolves the mean (resolution.resolved), and the fraction where own text wins."""
    from .resolution import resolved

    d = with_deltas(df)
    rows = []
    for variant, g in d.groupby("text_variant", sort=False):
        delta = g["delta_bpd"].to_numpy()
        wins = (delta > 0).astype(float)
        lo, hi = bootstrap_ci(delta, seed=seed)
        wlo, whi = bootstrap_ci(wins, seed=seed)
        se = pd.to_numeric(g.get("delta_bpd_se", pd.Series(dtype=float)), errors="coerce")
        rows.append({"text_variant": variant, "n": len(g), "mean_delta_bpd": float(np.mean(delta)),
                     "ci_low": lo, "ci_high": hi,
                     "mc_se": float(se.median()) if se.notna().any() else float("nan"),
                     "resolved": resolved(lo, hi, len(g)), "own_wins": float(wins.mean()),
                     "own_wins_ci_low": wlo, "own_wins_ci_high": whi})
    return pd.DataFrame(rows)
