"""N-best rescoring table (paper Table 2): WER of each selection system, matched-pairs test."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..metrics.wer import normalize_text, sentence_errors

NBEST_COLUMNS = ("sample_id", "reference", "hypothesis", "am_score", "logp_nats")
SYSTEMS = ("am", "likelihood", "oracle_best", "oracle_worst", "random")


def _with_errors(df: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in NBEST_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"N-best input lacks columns {missing}; needs {list(NBEST_COLUMNS)}")
    df = df.reset_index(drop=True).copy()
    if "status" in df.columns:
        df = df[df["status"].fillna("ok") == "ok"].reset_index(drop=True)
    df["sample_id"] = df["sample_id"].astype(str)
    counts = [sentence_errors(normalize_text(str(r)), normalize_text(str(h)))
              for r, h in zip(df["reference"].fillna(""), df["hypothesis"].fillna(""))]
    df["n_errors"] = [c[0] for c in counts]
    df["n_ref_words"] = [c[1] for c in counts]
    df["order"] = np.arange(len(df))
    return df


def _pick(df: pd.DataFrame, column: str, largest: bool) -> pd.DataFrame:
    """Return one row per sample: the first row with the best value of column."""
    key = df[column] if largest else -df[column]
    ranked = df.assign(_key=key).sort_values(["sample_id", "_key", "order"],
                                             ascending=[True, False, True])
    return ranked.groupby("sample_id", sort=True).head(1).set_index("sample_id")


def selections(df: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Return per-sample chosen rows (n_errors, n_ref_words) for each deterministic system."""
    return {
        "am": _pick(df, "am_score", largest=True),
        "likelihood": _pick(df, "logp_nats", largest=True),
        "oracle_best": _pick(df, "n_errors", largest=False),
        "oracle_worst": _pick(df, "n_errors", largest=True),
    }


def _wer(chosen: pd.DataFrame) -> float:
    return 100.0 * chosen["n_errors"].sum() / max(int(chosen["n_ref_words"].sum()), 1)


def random_wer(df: pd.DataFrame, n_draws: int = 100, seed: int = 0) -> float:
    """Return the WER (%) of a uniformly random hypothesis per sample, averaged over draws."""
    rng = np.random.default_rng(seed)
    groups = [g for _, g in df.groupby("sample_id", sort=True)]
    ref_words = sum(int(g["n_ref_words"].iloc[0]) for g in groups)
    errs = np.array([g["n_errors"].to_numpy() for g in groups], dtype=object)
    totals = [sum(int(e[rng.integers(len(e))]) for e in errs) for _ in range(n_draws)]
    return 100.0 * float(np.mean(totals)) / max(ref_words, 1)


def paired_bootstrap_p(a: pd.DataFrame, b: pd.DataFrame, n_boot: int = 10_000,
                       seed: int = 0) -> float:
    """Return the two-sided paired-bootstrap p-value that systems a and b have equal WER."""
    ids = sorted(a.index)
    ea, eb = a.loc[ids, "n_errors"].to_numpy(float), b.loc[ids, "n_errors"].to_numpy(float)
    n = a.loc[ids, "n_ref_words"].to_numpy(float)
    if np.array_equal(ea, eb):
        return 1.0
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(ids), size=(n_boot, len(ids)))
    diff = (ea[idx].sum(1) - eb[idx].sum(1)) / n[idx].sum(1)
    p = 2 * min((diff <= 0).mean(), (diff >= 0).mean())
    return float(min(1.0, p))


def nbest_table(df: pd.DataFrame, n_random: int = 100, seed: int = 0) -> tuple[pd.DataFrame, float]:
    """Return (table with columns system, wer, n_utterances; p-value am vs likelihood)."""
    df = _with_errors(df)
    if df.empty:
        raise ValueError("no usable N-best rows (all missing or status != ok)")
    chosen = selections(df)
    rows = [{"system": k, "wer": _wer(v)} for k, v in chosen.items()]
    rows.append({"system": "random", "wer": random_wer(df, n_random, seed)})
    table = pd.DataFrame(rows).set_index("system").loc[list(SYSTEMS)].reset_index()
    table["n_utterances"] = df["sample_id"].nunique()
    return table, paired_bootstrap_p(chosen["am"], chosen["likelihood"], seed=seed)
