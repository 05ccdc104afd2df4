"""N-best rescoring table (paper Table 2): WER of each selection system, matched-pairs test.

WER is jiwer's corpus WER (total substitutions + deletions + insertions over total reference
words) after the chosen text normalisation (text_norm; the paper's: none). The oracles pick,
per utterance, the hypothesis with the lowest (highest) per-hypothesis `wer` column when
oracle_by is 'wer' (the paper's files carry one), else the fewest (most) word errors;
ties go to the first row of the input.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .text_norm import normalizer

NBEST_COLUMNS = ("sample_id", "reference", "hypothesis", "am_score", "logp_nats")
SYSTEMS = ("am", "likelihood", "oracle_best", "oracle_worst", "random")
ORACLE_BY = ("auto", "wer", "errors")


def word_errors(references: list[str], hypotheses: list[str]) -> tuple[list[int], list[int]]:
    """Return (S + D + I, reference words) per pair, from jiwer's word alignment."""
    import jiwer

    errors = [len(h.split()) for h in hypotheses]  # a reference without words: all inserted
    n_ref = [0] * len(references)
    idx = [i for i, r in enumerate(references) if r.split()]
    if idx:
        out = jiwer.process_words([references[i] for i in idx], [hypotheses[i] for i in idx])
        for i, ref_words, chunks in zip(idx, out.references, out.alignments):
            n_ref[i] = len(ref_words)
            errors[i] = sum((c.hyp_end_idx - c.hyp_start_idx) if c.type == "insert"
                            else (c.ref_end_idx - c.ref_start_idx)
                            for c in chunks if c.type != "equal")
    return errors, n_ref


def resolve_oracle_by(df: pd.DataFrame, oracle_by: str = "auto") -> str:
    """Return 'wer' or 'errors': what the oracles rank by ('auto': wer when df has it)."""
    if oracle_by not in ORACLE_BY:
        raise ValueError(f"oracle_by must be one of {list(ORACLE_BY)}, got {oracle_by!r}")
    if oracle_by == "auto":
        return "wer" if "wer" in df.columns else "errors"
    if oracle_by == "wer" and "wer" not in df.columns:
        raise ValueError("oracle_by 'wer' needs a per-hypothesis wer column in the input; "
                         "use oracle_by 'errors' (or 'auto')")
    return oracle_by


def _with_errors(df: pd.DataFrame, normalize: str, oracle_by: str) -> pd.DataFrame:
    missing = [c for c in NBEST_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"N-best input lacks columns {missing}; needs {list(NBEST_COLUMNS)}")
    df = df.reset_index(drop=True).copy()
    if "status" in df.columns:
        df = df[df["status"].fillna("ok") == "ok"].reset_index(drop=True)
    df["sample_id"] = df["sample_id"].astype(str)
    norm = normalizer(normalize)
    refs = [norm(str(r)) for r in df["reference"].fillna("")]
    hyps = [norm(str(h)) for h in df["hypothesis"].fillna("")]
    df["n_errors"], df["n_ref_words"] = word_errors(refs, hyps)
    if oracle_by == "wer":
        df["wer"] = pd.to_numeric(df["wer"], errors="coerce")
        bad = int(df["wer"].isna().sum())
        if bad:
            raise ValueError(f"wer column has {bad} missing or non-numeric value(s); "
                             "use oracle_by 'errors'")
    df["order"] = np.arange(len(df))
    return df


def _pick(df: pd.DataFrame, column: str, largest: bool) -> pd.DataFrame:
    """Return one row per sample: the first row with the best value of column."""
    key = df[column] if largest else -df[column]
    ranked = df.assign(_key=key).sort_values(["sample_id", "_key", "order"],
                                             ascending=[True, False, True])
    return ranked.groupby("sample_id", sort=True).head(1).set_index("sample_id")


def selections(df: pd.DataFrame, oracle_by: str = "errors") -> dict[str, pd.DataFrame]:
    """Return per-sample chosen rows (n_errors, n_ref_words) for each deterministic system;
    the oracles rank by column 'wer' or by 'n_errors' (oracle_by 'wer' | 'errors')."""
    key = "wer" if oracle_by == "wer" else "n_errors"
    return {
        "am": _pick(df, "am_score", largest=True),
        "likelihood": _pick(df, "logp_nats", largest=True),
        "oracle_best": _pick(df, key, largest=False),
        "oracle_worst": _pick(df, key, largest=True),
    }


def _wer(chosen: pd.DataFrame) -> float:
    return 100.0 * chosen["n_errors"].sum() / max(int(chosen["n_ref_words"].sum()), 1)


def _wer_ci(chosen: pd.DataFrame, seed: int, n_boot: int = 2000) -> dict[str, float]:
    """Return the 95% bootstrap CI of the corpus WER (%) over utterances (nan below 2)."""
    e = chosen["n_errors"].to_numpy(float)
    n = chosen["n_ref_words"].to_numpy(float)
    if len(e) < 2:
        return {"wer_ci_low": float("nan"), "wer_ci_high": float("nan")}
    idx = np.random.default_rng(seed).integers(0, len(e), size=(n_boot, len(e)))
    draws = 100.0 * e[idx].sum(1) / np.maximum(n[idx].sum(1), 1)
    return {"wer_ci_low": float(np.quantile(draws, 0.025)),
            "wer_ci_high": float(np.quantile(draws, 0.975))}


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


def nbest_table(df: pd.DataFrame, n_random: int = 100, seed: int = 0, normalize: str = "none",
                oracle_by: str = "auto") -> tuple[pd.DataFrame, float]:
    """Return (table with columns system, wer, wer_ci_low, wer_ci_high (bootstrap over
    utterances; none for random), n_utterances; p-value am vs likelihood)."""
    oracle_by = resolve_oracle_by(df, oracle_by)
    df = _with_errors(df, normalize, oracle_by)
    if df.empty:
        raise ValueError("no usable N-best rows (all missing or status != ok)")
    chosen = selections(df, oracle_by)
    rows = [{"system": k, "wer": _wer(v), **_wer_ci(v, seed)} for k, v in chosen.items()]
    rows.append({"system": "random", "wer": random_wer(df, n_random, seed),
                 "wer_ci_low": float("nan"), "wer_ci_high": float("nan")})
    table = pd.DataFrame(rows).set_index("system").loc[list(SYSTEMS)].reset_index()
    table["n_utterances"] = df["sample_id"].nunique()
    return table, paired_bootstrap_p(chosen["am"], chosen["likelihood"], seed=seed)
