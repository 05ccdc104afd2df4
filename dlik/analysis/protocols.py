"""The paper's protocol beside dlik's paired one on the same inputs: how far the independent-
probe estimate of each contrast scatters around the paired estimate.

Input: the rows of two runs of one study (e.g. `solver=paper` or `solver.probes=independent`
and the default), told apart by their `probes` column. A contrast is a row's bpd minus the
bpd of its reference row (text swaps: the own text; prompt confounds: the true prompt of the
same image, attribute, guidance scale and source).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

STUDIES = {
    # name: (column that marks the reference row, its value, grouping within a sample, by)
    "text_agnostic": ("text_variant", "own", [], "text_variant"),
    "prompt_confounds": ("is_true_prompt", True,
                         ["image_set", "attribute", "guidance_scale", "source"], "attribute"),
}


def _study(df: pd.DataFrame) -> str:
    for name, (col, *_rest) in STUDIES.items():
        if col in df.columns:
            return name
    raise ValueError(f"protocol comparison needs a study among {sorted(STUDIES)} (a "
                     f"{[v[0] for v in STUDIES.values()]} column)")


def contrasts(df: pd.DataFrame) -> pd.DataFrame:
    """Return ok non-reference rows with `contrast` = bpd - bpd of the reference row of their
    group (same sample and grouping columns), keyed by probes, sample_id, condition_id."""
    col, ref_value, groups, by = STUDIES[_study(df)]
    ok = df[df["status"] == "ok"].copy()
    is_ref = ok[col].astype(str) == str(ref_value)
    keys = ["probes", "sample_id", *groups]
    ref = ok[is_ref].drop_duplicates(keys).set_index(keys)["bpd"].rename("ref_bpd")
    out = ok[~is_ref].join(ref, on=keys)
    out["contrast"] = out["bpd"] - out["ref_bpd"]
    return out[out["contrast"].notna()]


def protocol_table(df: pd.DataFrame) -> pd.DataFrame:
    """Return per contrast kind: n, the mean contrast under each protocol, the scatter (sd
    and max) of the independent-probe contrast around the paired one, and sign agreement."""
    if "probes" not in df.columns:
        raise ValueError("protocol comparison needs the probes column (shared / independent)")
    have = set(df["probes"].dropna().astype(str))
    if not {"shared", "independent"} <= have:
        raise ValueError(f"protocol comparison needs runs with probes shared and independent "
                         f"on the same inputs; got {sorted(have)}")
    _, _, groups, by = STUDIES[_study(df)]
    c = contrasts(df)
    key = ["sample_id", "condition_id"]
    paired = c[c["probes"] == "shared"].set_index(key)
    paper = c[c["probes"] == "independent"].set_index(key)
    both = paired[[by, "contrast"]].join(paper["contrast"].rename("paper"), how="inner")
    if both.empty:
        raise ValueError("the two runs share no (sample_id, condition_id) rows")
    rows = []
    for kind, g in both.groupby(by, sort=False):
        gap = (g["paper"] - g["contrast"]).to_numpy()
        rows.append({by: kind, "n": len(g), "mean_paired": g["contrast"].mean(),
                     "mean_paper": g["paper"].mean(),
                     "scatter_sd": float(np.std(gap, ddof=1)) if len(g) > 1 else np.nan,
                     "scatter_max": float(np.abs(gap).max()),
                     "same_sign": float((np.sign(g["paper"]) == np.sign(g["contrast"])).mean())})
    return pd.DataFrame(rows)


def protocol_notes(df: pd.DataFrame) -> list[str]:
    """Return the note lines of the protocol table."""
    return ["contrast = bpd - bpd of the reference (own text / true prompt) of the same input; "
            "paired: probes shared by the conditions of a sample (dlik's default); paper: a "
            "fresh probe per row (probes=independent); scatter: sd and max |paper - paired| "
            "of one contrast, the probe noise the paper's protocol adds; same_sign: fraction "
            "of contrasts whose sign both protocols agree on"]
