"""Quality table: mean bpd and mean delta bpd vs clean, per perturbation and level."""

from __future__ import annotations

import pandas as pd

from .bootstrap import bootstrap_ci
from .figures import pyplot


def quality_table(df: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Return per (perturbation, level): n, mean bpd, mean delta vs clean with 95% CI."""
    ok = df[df["status"] == "ok"]
    clean = ok[ok["perturbation"] == "clean"].set_index("sample_id")["bpd"].rename("clean_bpd")
    if clean.empty:
        raise ValueError("no 'clean' rows with status ok")
    d = ok.join(clean, on="sample_id", how="inner")
    d = d.assign(delta_bpd=d["bpd"] - d["clean_bpd"],
                 level=d["level"].astype(object).fillna("-"))
    rows = []
    first = {name: i for i, name in enumerate(d["perturbation"].unique())}
    groups = d.groupby(["perturbation", "level"], sort=False)  # levels in the order scored
    for (name, level), g in sorted(groups, key=lambda kv: first[kv[0][0]]):
        lo, hi = bootstrap_ci(g["delta_bpd"], seed=seed)
        rows.append({"perturbation": name, "level": level, "n": len(g),
                     "mean_bpd": g["bpd"].mean(), "mean_delta_bpd": g["delta_bpd"].mean(),
                     "ci_low": lo, "ci_high": hi})
    return pd.DataFrame(rows)


def plot_quality(df: pd.DataFrame, path) -> None:
    """Write a PNG of mean bpd vs level, one panel per perturbation."""
    plt = pyplot()

    t = quality_table(df)
    clean = t[t["perturbation"] == "clean"]["mean_bpd"].mean()
    names = [n for n in t["perturbation"].unique() if n != "clean"]
    fig, axes = plt.subplots(1, max(len(names), 1), figsize=(3 * max(len(names), 1), 3),
                             squeeze=False)
    for ax, name in zip(axes[0], names):
        g = t[t["perturbation"] == name]
        ax.plot([str(v) for v in g["level"]], g["mean_bpd"], "o-")
        ax.axhline(clean, color="gray", ls="--", label="clean")
        ax.set_title(name)
        ax.set_ylabel("bpd")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
