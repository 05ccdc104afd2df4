"""Domain-adaptation table (paper Table 3): WER / bpd / ASV per solver pair."""

from __future__ import annotations

import pandas as pd

from .generative import means_with_bpd_ci, ok_rows


def domain_table(df: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Return mean wer, bpd (with its 95% bootstrap CI over utterances), asv_cosine per solver
    pair ('none' first)."""
    return means_with_bpd_ci(ok_rows(df), ["solver_pair"], ["wer", "bpd", "asv_cosine"], seed)
