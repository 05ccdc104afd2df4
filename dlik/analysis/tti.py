"""TTI tables: the generative path (paper Tables 4, 5, 7: bpd, CLIP score, FID per kind x
cfg x size) and image quality (bpd against degradation level)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .generative import mean_ci, ok_rows
from .quality import quality_table

KIND_ORDER = {"real": 0, "sample": 1, "reconstruction": 2}
NOT_COMPUTED = "not_computed"


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
    """Return (per (image_size, cfg, kind): n, mean bpd with 95% bootstrap CI over prompts,
    mean pixel_bpd, mean CLIP score, FID vs the real images; note lines)."""
    ok = ok_rows(df).copy()
    ok["image_size"] = ok["image_size"].astype(str) if "image_size" in ok else "-"
    ok["_k"] = ok["kind"].map(KIND_ORDER)
    ok = ok.sort_values(["image_size", "cfg", "_k"], kind="stable")
    rows = []
    for (size, cfg, kind), g in ok.groupby(["image_size", "cfg", "kind"], sort=False):
        lo, hi = mean_ci(g["bpd"], seed)
        real = ok[(ok["image_size"] == size) & (ok["kind"] == "real")]
        rows.append({"kind": kind, "cfg": float(cfg), "image_size": size, "n": len(g),
                     "bpd": g["bpd"].mean(), "bpd_ci_low": lo, "bpd_ci_high": hi,
                     "pixel_bpd": g["pixel_bpd"].mean() if "pixel_bpd" in g else np.nan,
                     "clip_score": _clip(g),
                     "fid": "-" if kind == "real" else _fid(g, real)})
    notes = []
    if "metrics_note" in ok.columns:
        notes += sorted({str(v) for v in ok["metrics_note"].dropna() if str(v) != "ok"})
    n_real = ok.loc[ok["kind"] == "real", "sample_id"].nunique()
    notes.append(f"FID of each set against the {n_real} real images (one per prompt); with so "
                 "few images it is biased upwards and only comparable at equal n")
    return pd.DataFrame(rows), notes


def tti_quality_table(df: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Return the quality table (mean bpd, mean delta vs clean with 95% CI per perturbation and
    level; clean is level 0) with the level's unit and the mean pixel_bpd."""
    t = quality_table(df, seed=seed)
    ok = ok_rows(df)
    keys = ok.assign(level=ok["level"].fillna("-"))
    extra = keys.groupby(["perturbation", "level"], sort=False).agg(
        level_unit=("level_unit", "first"), mean_pixel_bpd=("pixel_bpd", "mean")).reset_index()
    t = t.merge(extra, on=["perturbation", "level"], how="left")
    t["level_unit"] = t["level_unit"].fillna("-")
    cols = ["perturbation", "level", "level_unit", "n", "mean_bpd", "mean_pixel_bpd",
            "mean_delta_bpd", "ci_low", "ci_high"]
    return t[cols]


def samples_grid(df: pd.DataFrame, roots: list[Path], path: Path) -> Path | None:
    """Write a PNG grid of the generated images (a row per prompt; samples, then
    reconstructions, by cfg) found under roots (image_file is relative to its CSV's folder);
    return its path, or None when the CSV lists no generated image."""
    from PIL import Image

    ok = ok_rows(df)
    gen = ok[ok["kind"] != "real"].dropna(subset=["image_file"])
    if gen.empty:
        return None
    gen = gen.assign(_k=gen["kind"].map(KIND_ORDER)).sort_values(["_k", "cfg"], kind="stable")
    cols = list(dict.fromkeys(zip(gen["kind"], gen["cfg"])))
    ids = list(dict.fromkeys(gen["sample_id"]))
    files = {(r.sample_id, r.kind, r.cfg): r.image_file for r in gen.itertuples()}

    def find(rel: str) -> Path:
        for root in roots:
            if (root / rel).is_file():
                return root / rel
        raise ValueError(f"image {rel} is not under {[str(r) for r in roots]} (keep the "
                         "run's images/ folder beside its results.csv)")

    cells = {key: Image.open(find(f)).convert("RGB") for key, f in files.items()}
    w, h = next(iter(cells.values())).size
    grid = Image.new("RGB", (w * len(cols), h * len(ids)), "white")
    for r, sid in enumerate(ids):
        for c, (kind, cfg) in enumerate(cols):
            if (sid, kind, cfg) in cells:
                grid.paste(cells[(sid, kind, cfg)], (c * w, r * h))
    grid.save(path)
    return path
