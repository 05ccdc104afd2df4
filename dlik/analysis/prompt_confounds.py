"""Prompt-confound table (paper Table 6): each image scored under every candidate prompt of one
attribute (the other attribute held fixed); the most likely candidate is the prediction.

Per (image_set, attribute, guidance_scale, source) (diffusers' guidance_scale, <= 1 = none):
class-mean accuracy from the confusion matrix (mean over true labels of the fraction of that
label's images predicted right, the paper's measure), per-image accuracy, mean reciprocal rank
of the true prompt, each with a percentile-bootstrap CI over images; the random baseline
(exact: 1/K and H_K/K for K candidates) and, when the run had a local CLIP (`clip_cosine`
column), CLIP's argmax over the same candidates.
Beside them, the authors' measure (their grids/_utils.py: plot_confusion_*, mean_reciprocal_rank):
average each candidate's score over the images of each true label, then rank the true
candidate in each averaged row: `mean_matrix_accuracy` is the fraction of true labels whose
own candidate tops its averaged row (a tie counts as a miss, as their rankdata 'min' does),
`mean_matrix_mrr` the mean over labels of 1 / that rank. No CI: one number per matrix. The
paper's printed accuracies (CLIP 63 % = 5/8, 67 % = 2/3) are of this measure.
Accuracies are in percent (as in the paper), MRR in [0, 1].
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .bootstrap import bootstrap_ci

GROUP = ("image_set", "attribute", "guidance_scale", "source")
# What tells two runs apart: an image scored by two models (or at two sizes, or through two VAE
# modes) is two images here, never one image with two true prompts.
RUN = ("model_id", "image_size", "vae_mode")
NEEDS = ("sample_id", *GROUP, "true_label", "candidate_label", "status")
SOURCE_ORDER = ("original", "reconstruction")
NO_CLIP = "no local CLIP (study.clip_model=null)"


def _check(df: pd.DataFrame, score: str) -> None:
    missing = [c for c in (*NEEDS, score) if c not in df.columns]
    if missing:
        raise ValueError(f"prompt-confound input lacks columns {missing}; needs "
                         f"{[*NEEDS, score]}")


def predictions(df: pd.DataFrame, score: str = "logp_nats",
                groups: tuple[str, ...] = GROUP) -> pd.DataFrame:
    """Return one row per (group, image): true_label, predicted (the candidate of highest
    score; ties go to the first row), rank of the true candidate (1 + number of candidates
    scoring strictly higher) and n_candidates. Images with a candidate that is not ok (or
    has no score) or without exactly one true candidate are left out."""
    _check(df, score)
    d = df.assign(_score=pd.to_numeric(df[score], errors="coerce"))
    d["_ok"] = (d["status"] == "ok") & d["_score"].notna()
    keys = [*[c for c in RUN if c in df.columns], *groups, "sample_id"]
    rows = []
    for key, g in d.groupby(keys, sort=False, dropna=False):
        true = g[g["candidate_label"].astype(str) == g["true_label"].astype(str)]
        if not g["_ok"].all() or len(true) != 1:
            continue
        best = g.loc[g["_score"].idxmax(), "candidate_label"]
        t = float(true["_score"].iloc[0])
        rows.append({**dict(zip(keys, key)), "true_label": str(true["true_label"].iloc[0]),
                     "predicted": str(best), "rank": int(1 + (g["_score"] > t).sum()),
                     "n_candidates": len(g)})
    return pd.DataFrame(rows, columns=[*keys, "true_label", "predicted", "rank",
                                       "n_candidates"])


def mean_matrix(df: pd.DataFrame, pred: pd.DataFrame, score: str = "logp_nats",
                labels: list[str] | None = None) -> pd.DataFrame:
    """Return the authors' matrix of one group: rows the true labels (those with an image in
    pred), columns the candidates (labels, default every candidate seen), each cell the mean
    score of that candidate over the row label's images in pred."""
    d = df[df["sample_id"].isin(set(pred["sample_id"]))].assign(
        _score=pd.to_numeric(df[score], errors="coerce"),
        _true=df["true_label"].astype(str), _cand=df["candidate_label"].astype(str))
    m = d.pivot_table(index="_true", columns="_cand", values="_score", aggfunc="mean")
    labels = sorted(set(d["_cand"])) if labels is None else list(labels)
    rows = [v for v in labels if v in m.index] + sorted(set(m.index) - set(labels))
    return m.reindex(index=rows, columns=labels).rename_axis(index="true", columns="candidate")


def mean_matrix_measures(m: pd.DataFrame) -> dict[str, float]:
    """Return mean_matrix_accuracy (%) and mean_matrix_mrr of an averaged matrix: per row,
    rank = 1 + the number of other candidates scoring at least the true one."""
    rr = []
    for true, row in m.iterrows():
        if true not in row.index or row.isna().any():
            raise ValueError(f"averaged matrix row {true!r} lacks its own candidate or a score")
        rr.append(1.0 / (1 + int((row.drop(true) >= row[true]).sum())))
    rr_a = np.array(rr)
    return {"mean_matrix_accuracy": 100.0 * float(np.mean(rr_a == 1.0)),
            "mean_matrix_mrr": float(np.mean(rr_a))}


def confusion_matrix(pred: pd.DataFrame, labels: list[str] | None = None) -> pd.DataFrame:
    """Return counts of one group's predictions: rows the true label, columns the predicted
    one, both over labels (default: every label seen, sorted)."""
    seen = set(pred["true_label"]) | set(pred["predicted"])
    labels = sorted(seen) if labels is None else list(labels)
    m = pd.crosstab(pred["true_label"], pred["predicted"])
    return m.reindex(index=labels, columns=labels, fill_value=0).rename_axis(
        index="true", columns="predicted")


def _class_mean(codes: np.ndarray, axis: int = -1) -> np.ndarray:
    """Return the class-mean accuracy of codes 2 * class_index + correct along axis (classes
    absent from a draw are left out of its mean)."""
    codes = np.moveaxis(np.asarray(codes), axis, -1).astype(np.int64)
    cls, right = codes // 2, codes % 2
    onehot = cls[..., None] == np.arange(int(cls.max()) + 1)
    n = onehot.sum(axis=-2)
    hits = (onehot & (right[..., None] == 1)).sum(axis=-2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.nanmean(np.where(n > 0, hits / np.maximum(n, 1), np.nan), axis=-1)


def class_mean_accuracy(true: list[str], predicted: list[str]) -> float:
    """Return the mean over true labels of the fraction of their images predicted right
    (the diagonal of the row-normalised confusion matrix, averaged over non-empty rows)."""
    return float(_class_mean(_codes(true, predicted)))


def _codes(true, predicted) -> np.ndarray:
    true, predicted = [str(v) for v in true], [str(v) for v in predicted]
    index = {v: i for i, v in enumerate(sorted(set(true)))}
    return np.array([2 * index[t] + (t == p) for t, p in zip(true, predicted)], dtype=float)


def harmonic(k: int) -> float:
    """Return the k-th harmonic number H_k = 1 + 1/2 + ... + 1/k."""
    return float(sum(1.0 / i for i in range(1, k + 1)))


def measures(pred: pd.DataFrame, seed: int = 0) -> dict[str, float]:
    """Return accuracy (class-mean, %), image_accuracy (%), mrr, each with bootstrap CIs."""
    codes = _codes(pred["true_label"], pred["predicted"])
    right = (pred["true_label"] == pred["predicted"]).to_numpy(float)
    rr = 1.0 / pred["rank"].to_numpy(float)
    out: dict[str, float] = {}
    for name, values, stat, scale in (("accuracy", codes, _class_mean, 100.0),
                                      ("image_accuracy", right, np.mean, 100.0),
                                      ("mrr", rr, np.mean, 1.0)):
        lo, hi = bootstrap_ci(values, stat=stat, seed=seed)
        out[name] = scale * float(stat(values[None], axis=1)[0])
        out[f"{name}_ci_low"], out[f"{name}_ci_high"] = scale * lo, scale * hi
    return out


MEASURES = ("accuracy", "accuracy_ci_low", "accuracy_ci_high", "image_accuracy",
            "image_accuracy_ci_low", "image_accuracy_ci_high", "mrr", "mrr_ci_low",
            "mrr_ci_high", "mean_matrix_accuracy", "mean_matrix_mrr")


def _row(system, set_, attr, k, scale, source, n, status, values) -> dict:
    return {"system": system, "image_set": set_, "attribute": attr, "n_candidates": k,
            "guidance_scale": scale, "source": source, "n_images": n,
            **{m: values.get(m, math.nan) for m in MEASURES}, "status": status}


def _clip_rows(df: pd.DataFrame, set_: str, attr: str, k: int, seed: int):
    """Return the CLIP row of one attribute and its predictions (None when not computed)."""
    sub = df[(df["image_set"] == set_) & (df["attribute"] == attr)
             & (df["source"] == "original")]
    if "clip_cosine" not in df.columns or pd.to_numeric(sub["clip_cosine"], errors="coerce"
                                                       ).isna().all():
        models = sub["clip_model"].dropna().astype(str) if "clip_model" in sub else []
        why = NO_CLIP if not len(models) or set(models) <= {"none", ""} else \
            f"no clip_cosine values from {sorted(set(models))}"
        return _row("clip", set_, attr, k, math.nan, "original", 0,
                    f"not_computed: {why}", {}), None
    one = sub.drop_duplicates(["sample_id", "candidate_label"])  # CLIP sees no guidance
    pred = predictions(one.assign(guidance_scale=math.nan), score="clip_cosine")
    values = {**measures(pred, seed),
              **mean_matrix_measures(mean_matrix(one, pred, "clip_cosine"))}
    return _row("clip", set_, attr, k, math.nan, "original", len(pred), "ok", values), pred


def prompt_confounds(df: pd.DataFrame, seed: int = 0
                     ) -> tuple[pd.DataFrame, dict[tuple, pd.DataFrame]]:
    """Return (table, confusion matrices): per (image_set, attribute) the random and CLIP
    rows, then one likelihood row per (guidance_scale, source); matrices keyed by (system,
    image_set, attribute, guidance_scale, source), guidance_scale None for CLIP. Rows of more
    than one run (model_id, image_size, vae_mode) are refused: compare models with the
    architectures table."""
    for c in [c for c in RUN if c in df.columns]:
        vals = sorted(df[c].dropna().astype(str).unique())
        if len(vals) > 1:
            raise ValueError(f"the rows come from more than one run: {c} takes the values "
                             f"{vals}; give one run's CSV(s) (dlik tables prompt_confounds), or "
                             "compare models side by side with dlik tables architectures")
    pred = predictions(df)
    if pred.empty:
        raise ValueError("no image has every candidate prompt scored with status ok")
    rows, mats = [], {}
    for (set_, attr), g in pred.groupby(["image_set", "attribute"], sort=False):
        ks = sorted(set(g["n_candidates"]))
        k = ks[0] if len(ks) == 1 else "/".join(map(str, ks))
        labels = list(dict.fromkeys(df.loc[(df["image_set"] == set_) & (
            df["attribute"] == attr), "candidate_label"].astype(str)))  # the set's order
        if len(ks) == 1:
            rows.append(_row("random", set_, attr, k, math.nan, "-", g["sample_id"].nunique(),
                             "exact: 1/K",
                             {"accuracy": 100 / k, "image_accuracy": 100 / k,
                              "mrr": harmonic(k) / k, "mean_matrix_accuracy": 100 / k,
                              "mean_matrix_mrr": harmonic(k) / k}))
        clip, cpred = _clip_rows(df, set_, attr, k, seed)
        rows.append(clip)
        if cpred is not None:
            mats[("clip", set_, attr, None, "original")] = confusion_matrix(cpred, labels)
        order = g.assign(_s=g["source"].map(lambda s: (SOURCE_ORDER + (s,)).index(s)))
        for (gs, source), h in order.sort_values(["guidance_scale", "_s"]).groupby(
                ["guidance_scale", "source"], sort=False):
            cell = df[(df["image_set"] == set_) & (df["attribute"] == attr)
                      & (df["guidance_scale"] == gs) & (df["source"] == source)]
            values = {**measures(h, seed),
                      **mean_matrix_measures(mean_matrix(cell, h, labels=labels))}
            rows.append(_row("likelihood", set_, attr, k, float(gs), source, len(h), "ok",
                             values))
            mats[("likelihood", set_, attr, float(gs), source)] = confusion_matrix(h, labels)
    return pd.DataFrame(rows), mats


def table_notes(table: pd.DataFrame, df: pd.DataFrame) -> list[str]:
    """Return the lines printed under the table: what the columns are, what was left out."""
    n_img = df.groupby([*[c for c in RUN if c in df.columns], *GROUP, "sample_id"],
                       dropna=False).ngroups
    n_used = int(table.loc[table["system"] == "likelihood", "n_images"].sum())
    ks = ", ".join(dict.fromkeys(f"{a} {k}" for a, k in zip(table["attribute"],
                                                             table["n_candidates"])))
    return [
        "accuracy = class-mean accuracy (%) from the confusion matrix; image_accuracy = "
        "fraction of images (%) whose own prompt is the most likely; mrr = mean reciprocal "
        "rank of the own prompt; 95% percentile-bootstrap CIs over images (2000 draws); "
        "guidance_scale is diffusers' (<= 1 = no guidance; the paper's grid 0 / 3 / 5)",
        "mean_matrix_accuracy / mean_matrix_mrr = the authors' measure (their grids/_utils.py):"
        " scores averaged over the images of each true label, then the argmax / rank of the "
        "true candidate in each averaged row, over true labels; the paper's numbers are of "
        "this measure and sit beside it",
        f"candidates per image (the other attribute held fixed): {ks}; random is exact "
        "(1/K, MRR H_K/K)",
        "paper values sit beside ours only where the candidate count matches (the paper: 8 "
        "colours, 3 shapes, 9 PACS classes, 4 domains; the authors' code has 7 PACS classes); "
        "its CLIP figures are on real CLEVR / PACS images; the authors' code differs from the "
        "paper's text (docs/text-to-image.md): CLEVR prompts without the space between colour "
        "and shape ('a picture of a redsphere'), green and blue columns swapped, PACS cells "
        "that reuse one image index",
        f"images x settings used: {n_used} of {n_img} (the rest lack an ok row for some "
        "candidate)",
    ]


def render_confusions(mats: dict[tuple, pd.DataFrame], fmt: str) -> str:
    """Return every confusion matrix rendered in fmt under a heading line."""
    from .formatting import render
    from .paper_numbers import beside

    parts = []
    with beside(None):  # the paper's numbers belong to the summary table only
        for (system, set_, attr, gs, source), m in mats.items():
            where = "" if gs is None else f", guidance_scale={gs:g}"
            head = f"confusion {system} {set_} {attr}{where}, {source} (rows true, " \
                   "columns predicted; counts of images)"
            body = render(m.reset_index().rename(columns={"true": "true \\ predicted"}),
                          fmt, "{:.0f}")
            parts.append(("% " if fmt == "latex" else "") + head + "\n\n" + body)
    return "\n\n".join(parts)
