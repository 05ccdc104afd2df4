"""Condition headroom tables (dlik tables headroom): per input, bpd under the true, null,
best-found, worst-found and best-word conditions (exact paired likelihood), the headroom
bpd(true) - bpd(best), the fraction of the null-to-best gain the true condition achieves,
and whether the surrogate's gain is confirmed by the exact likelihood; a summary over inputs
with paired standard errors and t CIs; a dot plot per input."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..derived.paired import difference_se

ORDER = ("null_condition", "true", "best_word", "best", "worst")
LN2 = math.log(2.0)


def headroom_per_input(df: pd.DataFrame) -> pd.DataFrame:
    """Return one row per (model_id, sample_id): bpd per condition, deltas vs true with their
    Monte-Carlo (probe) paired SEs, the true condition's share of the null-to-best gain, and the
    surrogate's gain beside the exact one (nats)."""
    ok = df[df["status"] == "ok"]
    rows = []
    for (model, sid), g in ok.groupby(["model_id", "sample_id"], sort=False):
        by = {r["headroom_condition"]: r for _, r in g.iterrows()}
        if "true" not in by:
            continue
        t = by["true"]
        out = {"model_id": model, "sample_id": sid, "n_dims": int(t["n_dims"])}
        for c in ORDER:
            r = by.get(c)
            out[f"bpd_{c}"] = math.nan if r is None else float(r["bpd"])
            if r is not None and c != "true":
                out[f"delta_{c}"] = float(r["bpd"]) - float(t["bpd"])
                out[f"delta_{c}_se"] = difference_se(r, t, float(t["n_dims"]))
                gain = float(r["logp_nats"]) - float(t["logp_nats"])
                out[f"exact_gain_{c}"] = gain
                out[f"surrogate_gain_{c}"] = float(r.get("surrogate_gain", math.nan))
        out["headroom_bpd"] = -out.get("delta_best", math.nan)
        out["headroom_se"] = out.get("delta_best_se", math.nan)
        span = out["bpd_null_condition"] - out["bpd_best"]
        out["true_share"] = ((out["bpd_null_condition"] - out["bpd_true"]) / span
                             if span > 0 else math.nan)
        sg, eg = out.get("surrogate_gain_best", math.nan), out.get("exact_gain_best", math.nan)
        se_n = out["headroom_se"] * LN2 * out["n_dims"]
        out["confirmed"] = bool(sg > 0 and eg > 0 and (math.isnan(se_n) or eg > 2 * se_n))
        out["search_s"] = float(g["search_s"].max()) if "search_s" in g else math.nan
        out["exact_s"] = float(g["wall_s"].sum()) if "wall_s" in g else math.nan
        out["best_word_text"] = (by["best_word"].get("condition_text")
                                 if "best_word" in by else None)
        rows.append(out)
    return pd.DataFrame(rows)


def _mean_se(v: pd.Series) -> tuple[float, float, float, int]:
    """Return (mean, SE over inputs, t-CI half-width 95%, n) of the finite values."""
    from scipy.stats import t as student

    v = v[np.isfinite(v)]
    n = len(v)
    if n == 0:
        return math.nan, math.nan, math.nan, 0
    se = float(v.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
    half = float(student.ppf(0.975, n - 1) * se) if n > 1 else math.nan
    return float(v.mean()), se, half, n


def headroom_summary(per: pd.DataFrame) -> pd.DataFrame:
    """Return per model and condition: mean delta bpd vs true with its SE over inputs (paired:
    one input, both conditions), the 95% t CI, the largest probe SE, the surrogate's and the
    exact gain (nats), the true share, the confirmed count, n and the cost per input (search
    and exact scoring wall seconds)."""
    rows = []
    for model, g in per.groupby("model_id", sort=False):
        for c in ORDER[:1] + ORDER[2:]:
            if f"delta_{c}" not in g:
                continue
            m, se, half, n = _mean_se(g[f"delta_{c}"])
            rows.append({
                "model_id": model, "condition": c, "n": n, "delta_bpd_vs_true": m,
                "se": se, "ci95_lo": m - half, "ci95_hi": m + half,
                "max_probe_se": float(g[f"delta_{c}_se"].max()),
                "surrogate_gain_nats": float(g[f"surrogate_gain_{c}"].mean()),
                "exact_gain_nats": float(g[f"exact_gain_{c}"].mean()),
                "true_share": _mean_se(g["true_share"])[0] if c == "best" else math.nan,
                "true_share_se": _mean_se(g["true_share"])[1] if c == "best" else math.nan,
                "confirmed": f"{int(g['confirmed'].sum())}/{len(g)}" if c == "best" else "",
                "search_s_per_input": float(g["search_s"].mean()),
                "exact_s_per_input": float(g["exact_s"].mean())})
    return pd.DataFrame(rows)


def headroom_figure(per: pd.DataFrame):
    """Return a figure: per input, the null, true, best-word and best bpd on one axis."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = list(dict.fromkeys(per["model_id"]))
    sizes = [int((per["model_id"] == m).sum()) for m in models]
    fig, axes = plt.subplots(len(models), 1, squeeze=False, height_ratios=sizes,
                             figsize=(7, 1.2 + 0.9 * len(models) + 0.4 * len(per)))
    marks = {"null_condition": ("x", "grey"), "true": ("o", "black"),
             "best_word": ("s", "tab:blue"), "best": ("^", "tab:green")}
    for ax, model in zip(axes[:, 0], models):
        g = per[per["model_id"] == model]
        y = np.arange(len(g))
        for c, (mk, col) in marks.items():
            ax.scatter(g[f"bpd_{c}"], y, marker=mk, color=col, label=c, zorder=3)
        ax.set_yticks(y, list(g["sample_id"]), fontsize=7)
        ax.set_ylim(-0.6, len(g) - 0.4)
        ax.set_title(model, fontsize=8)
        ax.grid(axis="x", alpha=0.3)
    axes[-1, 0].set_xlabel("bpd (exact, paired; lower = more likely)")
    axes[0, 0].legend(fontsize=7, ncol=4, loc="lower center", bbox_to_anchor=(0.5, 1.12),
                      frameon=False)
    fig.tight_layout()
    return fig


def headroom_plot(df: pd.DataFrame, out) -> list:
    """Return [(PNG, caption)] for dlik report: the per-input dot plot of headroom_figure."""
    from pathlib import Path

    per = headroom_per_input(df)
    if per.empty:
        raise ValueError("no input has an ok 'true' row")
    png = Path(out) / "headroom.png"
    fig = headroom_figure(per)
    fig.savefig(png, dpi=120)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return [(png, "per input: bpd under the null, true, best-word and best-found conditions "
                  "(exact paired likelihood)")]
