"""Generative-path table (paper Table 1): bpd and audio measures per sampler and time."""

from __future__ import annotations

import pandas as pd

from .bootstrap import bootstrap_ci

MEASURES = ["bpd", "logf0_rmse", "mcd_db", "wer", "asv_cosine"]


def ok_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Return the rows with status ok, raising when there are none."""
    ok = df[df["status"] == "ok"]
    if ok.empty:
        raise ValueError("no rows with status ok")
    return ok


def mean_ci(values, seed: int = 0) -> tuple[float, float]:
    """Return the 95% bootstrap CI of the mean, or (nan, nan) for fewer than 2 values."""
    v = pd.Series(values).dropna()
    return bootstrap_ci(v, seed=seed) if len(v) >= 2 else (float("nan"), float("nan"))


def generative_table(df: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Return mean measures per (sampler, t_saved), real audio first, with the bpd CI over
    utterances (t_saved '-' for the real audio)."""
    ok = ok_rows(df).copy()
    ok["t_saved"] = ["-" if pd.isna(v) or str(v) == "" else str(v) for v in ok["t_saved"]]
    ok = pd.concat([ok[ok["sampler"] == "real"], ok[ok["sampler"] != "real"]])
    return means_with_bpd_ci(ok, ["sampler", "t_saved"], MEASURES, seed)


def means_with_bpd_ci(ok: pd.DataFrame, keys: list[str], measures: list[str],
                      seed: int = 0) -> pd.DataFrame:
    """Return the mean of each present measure per group of keys (in order of appearance),
    n after the keys, and the 95% bootstrap CI of bpd right after the bpd column."""
    cols = [c for c in measures if c in ok.columns]
    groups = ok.groupby(keys, sort=False)
    t = groups[cols].mean().reset_index()
    t.insert(len(keys), "n", groups.size().to_numpy())
    ci = [mean_ci(g["bpd"], seed) for _, g in groups]
    at = list(t.columns).index("bpd") + 1
    t.insert(at, "bpd_ci_low", [c[0] for c in ci])
    t.insert(at + 1, "bpd_ci_high", [c[1] for c in ci])
    return t
