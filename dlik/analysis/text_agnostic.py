"""Text-swap table: delta bpd of each text variant against the utterance's own text."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .bootstrap import bootstrap_ci


def with_deltas(df: pd.DataFrame) -> pd.DataFrame:
    """Return ok rows of non-own variants with own_bpd and delta_bpd = bpd - own_bpd."""
    need = {"sample_id", "text_variant", "bpd", "status"}
    if need - set(df.columns):
        raise ValueError(f"text-swap input lacks columns {sorted(need - set(df.columns))}")
    ok = df[df["status"] == "ok"]
    own = ok[ok["text_variant"] == "own"].set_index("sample_id")["bpd"].rename("own_bpd")
    if own.empty:
        raise ValueError("no 'own' text rows with status ok: nothing to compare against")
    other = ok[ok["text_variant"] != "own"].join(own, on="sample_id", how="inner")
    return other.assign(delta_bpd=other["bpd"] - other["own_bpd"])


def text_agnostic_table(df: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Return per variant: n, mean delta bpd with 95% CI, fraction where own text wins."""
    d = with_deltas(df)
    rows = []
    for variant, g in d.groupby("text_variant", sort=False):
        delta = g["delta_bpd"].to_numpy()
        wins = (delta > 0).astype(float)
        lo, hi = bootstrap_ci(delta, seed=seed)
        wlo, whi = bootstrap_ci(wins, seed=seed)
        rows.append({"text_variant": variant, "n": len(g), "mean_delta_bpd": float(np.mean(delta)),
                     "ci_low": lo, "ci_high": hi, "own_wins": float(wins.mean()),
                     "own_wins_ci_low": wlo, "own_wins_ci_high": whi})
    return pd.DataFrame(rows)
