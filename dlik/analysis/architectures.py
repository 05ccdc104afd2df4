"""Two (or more) text-to-image models side by side on the same images, from their results
CSVs: argmax-prompt accuracy of the prompt-confound study (original images) and the image-
quality study's slopes (how fast bpd rises with each degradation). Rows are told apart by
model_id; each model's numbers come from the same builders as its own tables."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .bootstrap import bootstrap_ci
from .prompt_confounds import prompt_confounds
from .resolution import solver_note_of

CONFOUNDS, QUALITY = "tti_prompt_confounds", "tti_quality"


def _models(df: pd.DataFrame) -> list[str]:
    if "model_id" not in df or "experiment" not in df:
        raise ValueError("architecture tables need the model_id and experiment columns")
    return list(dict.fromkeys(df["model_id"].astype(str)))


def _ci(v: float, lo: float, hi: float, fmt: str) -> str:
    return f"{v:{fmt}} [{lo:{fmt}}, {hi:{fmt}}]" if np.isfinite(v) else "-"


def confound_accuracy(df: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Return per (image_set, attribute, guidance_scale): chance and each model's class-mean
    argmax-likelihood accuracy (%) on the original images, with its 95% CI over images."""
    rows: dict[tuple, dict] = {}
    chance: dict[tuple, float] = {}
    sub = df[df["experiment"].astype(str).str.startswith(CONFOUNDS)]
    for model in _models(sub):
        table, _ = prompt_confounds(sub[sub["model_id"].astype(str) == model], seed=seed)
        for _, r in table.iterrows():
            if r["system"] == "random":
                chance[(r["image_set"], r["attribute"])] = r["accuracy"]
            if r["system"] == "likelihood" and r["source"] == "original":
                row = rows.setdefault((r["image_set"], r["attribute"], r["guidance_scale"]), {})
                row[f"{model} acc_%"] = _ci(r["accuracy"], r["accuracy_ci_low"],
                                            r["accuracy_ci_high"], ".0f")
                row[f"{model} n"] = int(r["n_images"])
    if not rows:
        raise ValueError(f"no {CONFOUNDS} rows with every candidate scored on an original image")
    return pd.DataFrame([{"image_set": s, "attribute": a, "guidance_scale": g,
                          "chance_%": round(chance.get((s, a), np.nan)), **v}
                         for (s, a, g), v in rows.items()])


def quality_slopes(df: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Return per perturbation: each model's slope of bpd on the degradation level (bpd per
    unit of level: least squares over the perturbation's levels, per image, then the mean
    over images with its 95% CI), its largest mean change from clean, and with two models
    the paired difference of their slopes (second minus first, over the images both scored)."""
    sub = df[(df["experiment"].astype(str).str.startswith(QUALITY)) & (df["status"] == "ok")]
    rows: dict[str, dict] = {}
    per_image: dict[tuple[str, str], pd.Series] = {}
    models = _models(sub)
    for model in models:
        m = sub[sub["model_id"].astype(str) == model]
        clean = m[m["perturbation"] == "clean"].set_index("sample_id")["bpd"]
        for name, g in m[m["perturbation"] != "clean"].groupby("perturbation", sort=False):
            g = g.assign(level=pd.to_numeric(g["level"]))
            slopes = pd.Series({sid: np.polyfit(h["level"], h["bpd"], 1)[0]
                                for sid, h in g.groupby("sample_id") if h["level"].nunique() > 1},
                               dtype=float)
            per_image[(model, name)] = slopes
            delta = g["bpd"].to_numpy() - clean.reindex(g["sample_id"]).to_numpy()
            row = rows.setdefault(name, {"level_unit": g["level_unit"].iloc[0],
                                         "levels": "/".join(f"{v:g}" for v in
                                                            sorted(set(g["level"])))})
            row[f"{model} slope"] = _mean_ci(slopes.to_numpy(), seed)
            row[f"{model} max_delta_bpd"] = float(
                pd.Series(delta).groupby(g["level"].to_numpy()).mean().abs().max())
            row[f"{model} n"] = len(slopes)
    if not rows:
        raise ValueError(f"no {QUALITY} rows with status ok")
    if len(models) == 2:
        for name, row in rows.items():
            a, b = (per_image.get((m, name), pd.Series(dtype=float)) for m in models)
            both = a.index.intersection(b.index)
            row["slope difference (2nd - 1st)"] = _mean_ci((b[both] - a[both]).to_numpy(), seed)
    return pd.DataFrame([{"perturbation": k, **v} for k, v in rows.items()])


def _mean_ci(values: np.ndarray, seed: int) -> str:
    """Return 'mean [low, high]' of values with its bootstrap 95% CI ('-' when empty)."""
    if not len(values):
        return "-"
    lo, hi = bootstrap_ci(values, seed=seed)
    return _ci(float(np.mean(values)), lo, hi, ".3g")


def architecture_notes(df: pd.DataFrame) -> list[str]:
    """Return the lines under the tables: what each model is, what the numbers resolve."""
    lines = []
    for (model, exp), m in df.groupby([df["model_id"].astype(str),
                                       df["experiment"].astype(str)], sort=False):
        lines.append(f"{model} {exp}: {len(m)} rows; {solver_note_of(m) or 'solver unknown'}")
    lines += ["accuracy: class-mean argmax-likelihood prompt accuracy on the original images "
              "(the prompt_confounds table's likelihood rows), 95% CI over images; chance = "
              "1 / number of candidates",
              "slope: bpd per unit of the level (negative for jpeg: quality falls as bpd "
              "rises), fitted per image over the perturbation's levels, 95% CI over images; "
              "max_delta_bpd: the largest |mean bpd - clean bpd| over the levels",
              "slope difference: the second model's slope minus the first's, paired over the "
              "images both scored (95% CI over images): resolved where its CI excludes 0; "
              "accuracies are compared by their CIs over the same images (conservative)"]
    conf = df[df["experiment"].astype(str).str.startswith(CONFOUNDS)]
    n = conf.groupby(["model_id", "image_set"])["sample_id"].nunique() if len(conf) else []
    if len(n) and n.min() < 8:
        lines.append(f"CIs over fewer than 8 images (as few as {n.min()} per set): they show the "
                     "spread, not a resolved difference; score more with "
                     "data.sets.<set>.n_items")
    return lines
