"""ELBO ranker vs the exact ODE likelihood: rank agreement per sample and cost, per study."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .bootstrap import bootstrap_ci
from .pmi import without_null_rows

PAIRED_COLUMNS = ("sample_id", "condition_id", "logp_nats", "elbo_nats", "nfe_exact",
                  "nfe_elbo", "wall_exact_s", "wall_elbo_s")


def paired(df: pd.DataFrame) -> pd.DataFrame:
    """Return one row per (sample, candidate) with the exact and the ELBO score and costs.

    Input: rows that carry both (dlik bench --estimator elbo --elbo-csv), or exact results rows
    and ELBO rows (estimator 'elbo', from dlik elbo) concatenated; only ok rows count."""
    df = without_null_rows(df)
    if "status" in df.columns:
        df = df[df["status"].fillna("ok") == "ok"]
    if set(PAIRED_COLUMNS) <= set(df.columns):
        out = df
    else:
        need = {"sample_id", "condition_id", "logp_nats", "elbo_nats", "nfe", "wall_s"}
        if need - set(df.columns):
            raise ValueError(f"ELBO agreement input lacks columns {sorted(need - set(df.columns))}"
                             "; pass exact results and ELBO rows together")
        is_elbo = df["elbo_nats"].notna()
        keys = ["sample_id", "condition_id"]
        ex = df[~is_elbo & df["logp_nats"].notna()]
        el = df[is_elbo]
        cols = keys + (["experiment"] if "experiment" in df.columns else [])
        out = ex[cols + ["logp_nats", "nfe", "wall_s"]].merge(
            el[keys + ["elbo_nats", "nfe", "wall_s"]], on=keys, suffixes=("_exact", "_elbo"))
        out = out.rename(columns={"wall_s_exact": "wall_exact_s", "wall_s_elbo": "wall_elbo_s"})
    out = out.assign(sample_id=out["sample_id"].astype(str))
    if out.empty:
        raise ValueError("no (sample, condition) has both an exact and an ELBO score")
    return out


def sample_agreement(p: pd.DataFrame) -> pd.DataFrame:
    """Return per sample with >= 2 candidates: n_candidates, Kendall tau-b between exact and
    ELBO scores, and whether both pick the same top candidate."""
    from scipy.stats import kendalltau

    rows = []
    for sid, g in p.groupby("sample_id", sort=False):
        if len(g) < 2:
            continue
        tau = kendalltau(g["logp_nats"], g["elbo_nats"]).statistic
        same = g["condition_id"].iloc[int(np.argmax(g["logp_nats"].to_numpy()))] == \
            g["condition_id"].iloc[int(np.argmax(g["elbo_nats"].to_numpy()))]
        rows.append({"sample_id": sid, "n_candidates": len(g), "kendall_tau": float(tau),
                     "top1_agree": float(same),
                     **({"experiment": g["experiment"].iloc[0]} if "experiment" in g else {})})
    return pd.DataFrame(rows)


def elbo_agreement_table(df: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Return per study (experiment): samples, mean candidates, mean Kendall tau and top-1
    agreement with 95% bootstrap CIs over samples, mean NFE and wall per candidate of each
    estimator, and the exact/ELBO cost ratios."""
    p = paired(df)
    if "experiment" not in p.columns:
        p = p.assign(experiment="all")
    s = sample_agreement(p)
    if s.empty:
        raise ValueError("no sample has two or more candidates with both scores")
    rows = []
    for exp, g in s.groupby("experiment", sort=False):
        c = p[p["experiment"] == exp]
        tau = g["kendall_tau"].dropna().to_numpy()
        lo, hi = bootstrap_ci(tau, seed=seed)
        alo, ahi = bootstrap_ci(g["top1_agree"].to_numpy(), seed=seed)
        nfe_e, nfe_l = c["nfe_exact"].mean(), c["nfe_elbo"].mean()
        wall_e, wall_l = c["wall_exact_s"].mean(), c["wall_elbo_s"].mean()
        rows.append({"experiment": exp, "n_samples": len(g),
                     "candidates": float(g["n_candidates"].mean()),
                     "kendall_tau": float(np.mean(tau)) if len(tau) else float("nan"),
                     "tau_ci_low": lo, "tau_ci_high": hi,
                     "top1_agreement": float(g["top1_agree"].mean()),
                     "top1_ci_low": alo, "top1_ci_high": ahi,
                     "nfe_exact": nfe_e, "nfe_elbo": nfe_l, "nfe_ratio": nfe_e / nfe_l,
                     "wall_exact_s": wall_e, "wall_elbo_s": wall_l,
                     "wall_ratio": wall_e / wall_l})
    return pd.DataFrame(rows)
