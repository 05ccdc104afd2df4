"""Columns computed from other rows of the same CSV (e.g. delta bpd against the own text).

One registry, used by the studies after a run and by `dlik merge` after joining shards, so a
merged CSV never keeps a value computed from an incomplete shard. It sits below analysis (it
reads rows, not tables): the writer's callers, merge and the studies import it, and the tables
read its columns.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from .paired import reference_rows, with_difference_se
from .pmi import NULL_CONDITION_ID, with_pmi
from .text_swaps import with_own_delta
from .true_prompt import true_prompt_rows, with_true_delta

# delta_bpd's reference row, by the column that marks the study: text swaps (the own text)
# or prompt confounds (the true prompt of the same scale, source and attribute)
_DELTA: dict[str, tuple[Callable, Callable]] = {
    "text_variant": (lambda df: with_own_delta(df).drop(columns="own_bpd"),
                     lambda df: reference_rows(df, df["text_variant"] == "own")),
    "is_true_prompt": (with_true_delta, true_prompt_rows),
}


def _delta_kind(df: pd.DataFrame) -> tuple[Callable, Callable]:
    for marker, fns in _DELTA.items():
        if marker in df.columns:
            return fns
    raise ValueError(f"delta_bpd needs one of the columns {list(_DELTA)} (the reference row's "
                     f"marker), got {sorted(df.columns)}")


def _delta_bpd(df: pd.DataFrame) -> pd.DataFrame:
    return _delta_kind(df)[0](df)


def _delta_bpd_se(df: pd.DataFrame) -> pd.DataFrame:
    # Monte-Carlo error of delta_bpd (paired over shared probes; derived/paired.py)
    return with_difference_se(df, _delta_kind(df)[1](df), "delta_bpd_se")


def _pmi_bpd_se(df: pd.DataFrame) -> pd.DataFrame:
    # Monte-Carlo error of pmi_bpd against the sample's null row
    null = reference_rows(df, df["condition_id"].astype(str) == NULL_CONDITION_ID)
    return with_difference_se(df, null, "pmi_bpd_se")


def _pmi(column: str) -> Callable[[pd.DataFrame], pd.DataFrame]:
    # pmi = log p(x | c) - log p(x | null) against the sample's null row (derived/pmi.py)
    def fill(df: pd.DataFrame) -> pd.DataFrame:
        return df.assign(**{column: with_pmi(df)[column]})
    return fill


DERIVED: dict[str, Callable[[pd.DataFrame], pd.DataFrame]] = {
    "delta_bpd": _delta_bpd, "delta_bpd_se": _delta_bpd_se, "pmi_bpd_se": _pmi_bpd_se,
    "pmi_bits": _pmi("pmi_bits"), "pmi_bpd": _pmi("pmi_bpd")}


def derive_columns(df: pd.DataFrame, columns: list[str] | None = None) -> pd.DataFrame:
    """Return df with each registered derived column among `columns` (default: every
    registered column df has) recomputed from all rows."""
    names = [c for c in DERIVED if c in df.columns] if columns is None else list(columns)
    unknown = [c for c in names if c not in DERIVED]
    if unknown:
        raise ValueError(f"derived columns must be among {sorted(DERIVED)}, got {unknown}")
    for c in names:
        df = DERIVED[c](df)
    return df
