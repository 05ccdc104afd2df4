"""Speaker table: rank of the true speaker id by likelihood, and argmax accuracy; and
whether a speaker's own audio beats other speakers' audio of the same text."""

from __future__ import annotations

import pandas as pd

from .bootstrap import bootstrap_ci


def speaker_ranks(df: pd.DataFrame) -> pd.DataFrame:
    """Return per utterance: rank of the true speaker (1 = most likely) and n candidates."""
    ok = df[df["status"] == "ok"].copy()
    ok["rank"] = ok.groupby("sample_id")["logp_nats"].rank(ascending=False, method="min")
    true = ok[ok["is_true_speaker"].astype(str) == "True"]
    n = ok.groupby("sample_id").size().rename("n_candidates")
    return true.set_index("sample_id")[["rank", "bpd"]].join(n)


def own_audio_wins(df: pd.DataFrame) -> pd.Series:
    """Return, per (text, scored speaker) with several audios, whether its own audio is best."""
    ok = df[df["status"] == "ok"]
    out = {}
    for (text, spk), g in ok.groupby(["text", "scored_speaker_index"]):
        own = g[g["true_speaker_index"] == spk]
        if len(g) > 1 and len(own):
            out[(text, spk)] = bool(own["bpd"].min() <= g["bpd"].min())
    return pd.Series(out, dtype=bool)


def speaker_table(df: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Return a one-table summary with bootstrap CIs."""
    r = speaker_ranks(df)
    if r.empty:
        raise ValueError("no true-speaker rows with status ok")
    acc = (r["rank"] == 1).astype(float)
    lo, hi = bootstrap_ci(acc, seed=seed)
    rlo, rhi = bootstrap_ci(r["rank"], seed=seed)
    rows = [{"measure": "argmax_speaker_accuracy", "value": acc.mean(), "ci_low": lo,
             "ci_high": hi, "n": len(r)},
            {"measure": "mean_rank_true_speaker", "value": r["rank"].mean(), "ci_low": rlo,
             "ci_high": rhi, "n": len(r)},
            {"measure": "chance_accuracy", "value": float((1 / r["n_candidates"]).mean()),
             "ci_low": float("nan"), "ci_high": float("nan"), "n": len(r)}]
    wins = own_audio_wins(df)
    if len(wins):
        wlo, whi = bootstrap_ci(wins.astype(float), seed=seed)
        rows.append({"measure": "own_audio_wins_same_text", "value": wins.mean(),
                     "ci_low": wlo, "ci_high": whi, "n": len(wins)})
    return pd.DataFrame(rows)
