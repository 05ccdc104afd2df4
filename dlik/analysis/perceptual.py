"""Does bpd track perceived quality? Rank correlations of bpd with each perceptual measure
(DNSMOS, PESQ, STOI, SSIM, ...), per perturbation kind and pooled, with percentile-bootstrap
CIs over inputs, and the within-input correlation (levels of one input: its own bpd offset
cancels). Agreement is a negative correlation: higher bpd (less likely) with lower quality."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import kendalltau, rankdata

from .bootstrap import bootstrap_ci
from .resolution import MIN_BOOTSTRAP_N
from .figures import pyplot

MEASURES = ["dnsmos_sig", "dnsmos_bak", "dnsmos_ovrl", "dnsmos_p808", "pesq_wb", "stoi",
            "ssim", "ms_ssim", "clip_score"]
KIND_COLUMNS = ("perturbation", "sampler")  # what groups rows into kinds, first present
REFERENCE_KINDS = ("clean", "real")  # level 0 of every kind: in each kind's group
POOLED = "pooled"
STATS = ("spearman", "kendall", "within_spearman", "within_kendall")


def spearman(x, y) -> float:
    """Return Spearman's rho (Pearson correlation of average ranks); nan when one is constant."""
    rx, ry = rankdata(x), rankdata(y)
    if len(rx) < 2 or np.ptp(rx) == 0 or np.ptp(ry) == 0:
        return float("nan")
    return float(np.corrcoef(rx, ry)[0, 1])


def kendall(x, y) -> float:
    """Return Kendall's tau-b; nan when one is constant."""
    if len(x) < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(kendalltau(x, y).statistic)


def measure_columns(df: pd.DataFrame) -> list[str]:
    """Return the perceptual measures of df that have at least one value."""
    return [m for m in MEASURES if m in df and pd.to_numeric(df[m], errors="coerce").notna().any()]


def kind_column(df: pd.DataFrame) -> str:
    """Return the column naming each row's kind (perturbation, sampler)."""
    for c in KIND_COLUMNS:
        if c in df:
            return c
    raise ValueError(f"perceptual table needs one of the columns {list(KIND_COLUMNS)}")


def _groups(d: pd.DataFrame, kind: str) -> list[tuple[str, pd.DataFrame]]:
    """Return [(kind, rows)]: each kind with the inputs' reference rows, then all rows."""
    ref = d[kind].isin(REFERENCE_KINDS)
    kinds = [k for k in d[kind].unique() if k not in REFERENCE_KINDS]
    return [*[(k, d[ref | (d[kind] == k)]) for k in kinds], (POOLED, d)]


def _correlations(g: pd.DataFrame, m: str, n_boot: int, seed: int) -> dict:
    """Return n, the pooled and within-input correlations of bpd with m, and their CIs."""
    per = [(s["bpd"].to_numpy(float), s[m].to_numpy(float))
           for _, s in g.groupby("sample_id", sort=True)]
    x, y = np.concatenate([p[0] for p in per]), np.concatenate([p[1] for p in per])
    out = {"n_inputs": len(per), "n_rows": len(x),
           "spearman": spearman(x, y), "kendall": kendall(x, y)}
    rng = np.random.default_rng(seed)
    draws = {"spearman": [], "kendall": []}
    for _ in range(n_boot if len(per) > 1 else 0):
        pick = rng.integers(0, len(per), len(per))
        bx = np.concatenate([per[i][0] for i in pick])
        by = np.concatenate([per[i][1] for i in pick])
        draws["spearman"].append(spearman(bx, by))
        draws["kendall"].append(kendall(bx, by))
    for s, v in draws.items():
        v = np.asarray(v, float)
        v = v[np.isfinite(v)]
        lo, hi = (np.quantile(v, [0.025, 0.975]) if len(v) else (np.nan, np.nan))
        out[f"{s}_lo"], out[f"{s}_hi"] = float(lo), float(hi)
    for s, fn in (("within_spearman", spearman), ("within_kendall", kendall)):
        w = np.array([fn(a, b) for a, b in per if len(a) >= 3], float)
        w = w[np.isfinite(w)]
        out["n_within"] = len(w)
        out[s] = float(w.mean()) if len(w) else float("nan")
        out[f"{s}_lo"], out[f"{s}_hi"] = bootstrap_ci(w, n_boot=max(n_boot, 1), seed=seed)
    return out


def perceptual_table(df: pd.DataFrame, seed: int = 0, n_boot: int = 1000) -> pd.DataFrame:
    """Return per (measure, kind incl. pooled): n, Spearman and Kendall of bpd with the measure
    over rows and within inputs, 95% bootstrap CIs over inputs, which CIs include 0, and
    few_inputs (fewer than 8 inputs: the CIs are too coarse to resolve anything)."""
    ok = df[df["status"] == "ok"] if "status" in df else df
    measures = measure_columns(ok)
    if not measures:
        raise ValueError(f"no perceptual measure has values (looked for {MEASURES}); run the "
                         "study with study.perceptual=true")
    kind = kind_column(ok)
    rows = []
    for m in measures:
        d = ok.assign(**{m: pd.to_numeric(ok[m], errors="coerce")}).dropna(subset=["bpd", m])
        for name, g in _groups(d, kind):
            if g.empty:
                continue
            r = {"measure": m, "kind": name, **_correlations(g, m, n_boot, seed)}
            r["ci_has_0"] = ", ".join(s for s in STATS if not r[f"{s}_lo"] > 0
                                      and not r[f"{s}_hi"] < 0) or "-"
            r["few_inputs"] = r["n_inputs"] < MIN_BOOTSTRAP_N  # CIs over < 8 inputs: no claim
            rows.append(r)
    return pd.DataFrame(rows)


def _ci(lo: float, hi: float) -> str:
    return "-" if not (np.isfinite(lo) and np.isfinite(hi)) else f"[{lo:+.2f}, {hi:+.2f}]"


def display_table(t: pd.DataFrame) -> pd.DataFrame:
    """Return t with each statistic's CI as one '[lo, hi]' cell (for md / LaTeX)."""
    out = t[["measure", "kind", "n_inputs", "n_rows"]].copy()
    for s in STATS:
        out[s] = t[s]
        out[f"{s}_ci"] = [_ci(lo, hi) for lo, hi in zip(t[f"{s}_lo"], t[f"{s}_hi"])]
    out["ci_has_0"] = [f"n<{MIN_BOOTSTRAP_N}: all" if few else c
                       for c, few in zip(t["ci_has_0"], t["few_inputs"])]
    return out


def plot_perceptual(df: pd.DataFrame, path) -> None:
    """Write a PNG: bpd against each measure (rows), one panel per kind (columns), coloured
    by kind, the inputs' reference rows (clean / real) in grey in every panel."""
    plt = pyplot()
    ok = df[df["status"] == "ok"] if "status" in df else df
    measures, kind = measure_columns(ok), kind_column(ok)
    kinds = [k for k in ok[kind].unique() if k not in REFERENCE_KINDS] or list(ok[kind].unique())
    fig, axes = plt.subplots(len(measures), len(kinds), squeeze=False,
                             figsize=(max(2.6 * len(kinds), 5.2), 2.3 * len(measures)))
    ref = ok[ok[kind].isin(REFERENCE_KINDS)]
    for i, m in enumerate(measures):
        for j, k in enumerate(kinds):
            ax, g = axes[i, j], ok[ok[kind] == k]
            ax.scatter(pd.to_numeric(ref[m], errors="coerce"), ref["bpd"], s=10, c="0.6",
                       label="/".join(REFERENCE_KINDS))
            ax.scatter(pd.to_numeric(g[m], errors="coerce"), g["bpd"], s=12, c=f"C{j % 10}",
                       label=str(k))
            ax.set_xlabel(m, fontsize=8)
            ax.tick_params(labelsize=7)
            if j == 0:
                ax.set_ylabel("bpd (bits/dim)", fontsize=8)
            if i == 0:
                ax.set_title(str(k), fontsize=9)
    fig.suptitle(f"bpd vs perceptual measures, n inputs = {ok['sample_id'].nunique()}\n(grey: "
                 "clean / real rows; agreement = falling trend)", fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.5 / fig.get_figheight()))
    fig.savefig(path, dpi=100)
    plt.close(fig)
