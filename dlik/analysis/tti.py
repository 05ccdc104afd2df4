"""TTI tables: the generative path (paper Tables 4, 5, 7: bpd, CLIP score, FID per kind x
guidance scale x size) and image quality (bpd against degradation level)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .figures import pyplot, save_png
from .generative import mean_ci, ok_rows
from .quality import quality_table

KIND_ORDER = {"real": 0, "sample": 1, "reconstruction": 2}
NOT_COMPUTED = "not_computed"
GS = "guidance_scale"
PIXEL_NORM = "latent_bits_per_pixel_dim"
PIXEL_NORM_NOTE = ("bpd = bits per dim of the scaled VAE latent; latent_bits_per_pixel_dim = "
                   "the same latent log-density over 3 H W pixel dims (the paper's 'bpd'; no "
                   "decoder term, so not a pixel likelihood); guidance_scale is diffusers' "
                   "(<= 1 = no guidance)")


def _features(files) -> np.ndarray | None:
    """Return the stacked feature vectors of files, or None when any is missing or blank."""
    paths = [f for f in files if isinstance(f, str) and f]
    if not paths or len(paths) != len(files) or not all(Path(p).is_file() for p in paths):
        return None
    return np.stack([np.load(p).astype(np.float64).reshape(-1) for p in paths])


def _fid(group: pd.DataFrame, real: pd.DataFrame) -> float | str:
    """Return the FID of a group's images against the real images (one per sample id)."""
    from ..metrics.image import frechet_distance

    if "inception_file" not in group.columns:
        return NOT_COMPUTED
    ref = real.drop_duplicates("sample_id")
    a, b = _features(list(group["inception_file"])), _features(list(ref["inception_file"]))
    if a is None or b is None or len(a) < 2 or len(b) < 2:
        return NOT_COMPUTED
    return frechet_distance(a, b)


def _clip(group: pd.DataFrame) -> float | str:
    vals = pd.to_numeric(group.get("clip_score", pd.Series(dtype=float)), errors="coerce")
    return float(vals.mean()) if vals.notna().any() else NOT_COMPUTED


def tti_generative_table(df: pd.DataFrame, seed: int = 0) -> tuple[pd.DataFrame, list[str]]:
    """Return (per (image_size, guidance_scale, kind): n, mean bpd with 95% bootstrap CI over
    prompts, mean latent_bits_per_pixel_dim, mean CLIP score, FID vs the real images; note
    lines)."""
    ok = ok_rows(df).copy()
    ok["image_size"] = ok["image_size"].astype(str) if "image_size" in ok else "-"
    ok["_k"] = ok["kind"].map(KIND_ORDER)
    ok = ok.sort_values(["image_size", GS, "_k"], kind="stable")
    rows = []
    for (size, gs, kind), g in ok.groupby(["image_size", GS, "kind"], sort=False):
        lo, hi = mean_ci(g["bpd"], seed)
        real = ok[(ok["image_size"] == size) & (ok["kind"] == "real")]
        rows.append({"kind": kind, GS: float(gs), "image_size": size, "n": len(g),
                     "bpd": g["bpd"].mean(), "bpd_ci_low": lo, "bpd_ci_high": hi,
                     PIXEL_NORM: g[PIXEL_NORM].mean() if PIXEL_NORM in g else np.nan,
                     "clip_score": _clip(g),
                     "fid": "-" if kind == "real" else _fid(g, real)})
    notes = []
    if "metrics_note" in ok.columns:
        notes += sorted({str(v) for v in ok["metrics_note"].dropna() if str(v) != "ok"})
    n_real = ok.loc[ok["kind"] == "real", "sample_id"].nunique()
    notes.append(f"FID of each set against the {n_real} real images (one per prompt); with so "
                 "few images it is biased upwards and only comparable at equal n")
    notes.append(PIXEL_NORM_NOTE)
    return pd.DataFrame(rows), notes


def tti_quality_table(df: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Return the quality table (mean bpd, mean delta vs clean with 95% CI per perturbation and
    level; clean is level 0) with the level's unit and the mean latent_bits_per_pixel_dim."""
    t = quality_table(df, seed=seed)
    ok = ok_rows(df)
    keys = ok.assign(level=ok["level"].fillna("-"))
    extra = keys.groupby(["perturbation", "level"], sort=False).agg(
        level_unit=("level_unit", "first"),
        **{f"mean_{PIXEL_NORM}": (PIXEL_NORM, "mean")}).reset_index()
    t = t.merge(extra, on=["perturbation", "level"], how="left")
    t["level_unit"] = t["level_unit"].fillna("-")
    cols = ["perturbation", "level", "level_unit", "n", "mean_bpd", f"mean_{PIXEL_NORM}",
            "mean_delta_bpd", "ci_low", "ci_high"]
    return t[cols]


def _grid_columns(rows: pd.DataFrame) -> list[tuple[str, float | None]]:
    """Return the grid's columns: (real, None) when real images were saved, then (sample, s)
    and (reconstruction, s) by guidance scale."""
    cols = []
    for kind in sorted(rows["kind"].unique(), key=KIND_ORDER.get):
        if kind == "real":
            cols.append(("real", None))
        else:
            cols += [(kind, float(s)) for s in sorted(rows.loc[rows["kind"] == kind, GS].unique())]
    return cols


def _column_title(kind: str, scale: float | None) -> str:
    return kind if scale is None else f"{kind}\nguidance_scale {scale:g}"


def samples_grid(df: pd.DataFrame, roots: list[Path], path: Path) -> Path | None:
    """Write a labelled PNG grid of the run's images (a row per prompt, labelled with it;
    columns: the real image, then samples and reconstructions by guidance scale, titled with
    kind and scale) found under roots (image_file is relative to its CSV's folder); return its
    path, or None when the CSV lists no generated image."""
    fig = grid_figure(df, roots)
    return None if fig is None else save_png(fig, path)


def grid_figure(df: pd.DataFrame, roots: list[Path]):
    """Return the matplotlib figure of samples_grid (axes [prompt][column]), or None when the
    CSV lists no generated image."""
    from PIL import Image

    ok = ok_rows(df)
    rows = ok.dropna(subset=["image_file"])
    if rows[rows["kind"] != "real"].empty:
        return None
    ids = list(dict.fromkeys(rows["sample_id"]))
    prompts = (ok.drop_duplicates("sample_id").set_index("sample_id")["prompt"]
               if "prompt" in ok else pd.Series(ids, index=ids))
    cols = _grid_columns(rows)
    files = {(r.sample_id, r.kind, None if r.kind == "real" else float(getattr(r, GS))):
             r.image_file for r in rows.itertuples()}
    fig, axes = pyplot().subplots(len(ids), len(cols), squeeze=False,
                                figsize=(1.25 * len(cols) + 1.8, 1.25 * len(ids) + 0.7))
    for i, sid in enumerate(ids):
        for j, (kind, scale) in enumerate(cols):
            ax = axes[i][j]
            ax.set_xticks([])
            ax.set_yticks([])
            if (sid, kind, scale) in files:
                ax.imshow(Image.open(_find(files[(sid, kind, scale)], roots)).convert("RGB"),
                          interpolation="nearest")
            else:
                ax.set_frame_on(False)
            if j == 0:
                ax.set_ylabel(str(prompts.get(sid, sid)), rotation=0, ha="right",
                              va="center", fontsize=7)
            if i == 0:
                ax.set_title(_column_title(kind, scale), fontsize=7)
    kinds = " and ".join(dict.fromkeys(k + ("s" if s is not None else " image")
                                        for k, s in cols))
    fig.suptitle(f"{len(ids)} prompts (rows): {kinds} by guidance_scale (diffusers'; <= 1 = no "
                 "guidance)", fontsize=8)
    return fig


def _find(rel: str, roots: list[Path]) -> Path:
    """Return the first root / rel that is a file, raising when none is."""
    for root in roots:
        if (root / rel).is_file():
            return root / rel
    raise ValueError(f"image {rel} is not under {[str(r) for r in roots]} (keep the run's "
                     "images/ folder beside its results.csv)")
