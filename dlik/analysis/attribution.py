"""Time-resolved attribution tables and the report's plot hook (rows from dlik attribute)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .bootstrap import bootstrap_ci
from .figures import pyplot
from .pmi import group_column

def bin_edges(df: pd.DataFrame) -> list[float]:
    """Return the t-bin edges of attribution rows (their bin_edges column, one value)."""
    if "bin_edges" not in df.columns or df["bin_edges"].dropna().empty:
        raise ValueError("attribution input lacks bin_edges: rows come from dlik attribute")
    values = df["bin_edges"].dropna().astype(str).unique()
    if len(values) != 1:
        raise ValueError(f"rows mix bin edges {sorted(values)}: pass one attribution run")
    return [float(v) for v in values[0].split()]


def bin_columns(df: pd.DataFrame, prefix: str = "dlogp_bin_") -> list[str]:
    """Return the per-bin columns of df in bin order."""
    cols = [c for c in df.columns if c.startswith(prefix) and c[len(prefix):].isdigit()]
    return sorted(cols, key=lambda c: int(c[len(prefix):]))


def _ok(df: pd.DataFrame) -> pd.DataFrame:
    ok = df[df["status"] == "ok"] if "status" in df.columns else df
    if ok.empty or not bin_columns(ok):
        raise ValueError("no ok attribution rows with dlogp_bin_* columns")
    return ok


def attribution_table(df: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """Return per condition group: n, the mean prior-term difference, the mean per t-bin
    (columns named by their bins' t ranges), their sum (shared) and, when present, the
    transported total; all in nats, reference minus condition."""
    ok = _ok(df)
    by = by or group_column(ok)
    edges, cols = bin_edges(ok), bin_columns(ok)
    names = {c: f"t {edges[k]:g}-{edges[k + 1]:g}" for k, c in enumerate(cols)}
    rows = []
    for key, g in ok.groupby(by, sort=False):
        row = {by: key, "n": len(g), "prior": g["dlogp_prior"].mean()}
        row.update({names[c]: g[c].mean() for c in cols})
        row["shared"] = g["dlogp_shared"].mean()
        if "dlogp_transported" in g and g["dlogp_transported"].notna().any():
            row["transported"] = g["dlogp_transported"].mean()
        rows.append(row)
    return pd.DataFrame(rows)


def attribution_figure(df: pd.DataFrame, by: str | None = None, seed: int = 0,
                       per_unit_t: bool = True):
    """Return a matplotlib Figure: per condition group, the mean divergence difference of each
    t-bin (per unit t when per_unit_t, so unequal bins compare) with 95% bootstrap CIs, as a
    step curve over t; the reference condition's path is shared."""
    plt = pyplot()

    ok = _ok(df)
    by = by or group_column(ok)
    edges, cols = np.array(bin_edges(ok)), bin_columns(ok)
    width = np.diff(edges) if per_unit_t else np.ones(len(cols))
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    for key, g in ok.groupby(by, sort=False):
        vals = g[cols].to_numpy(dtype=float) / width
        mean = vals.mean(0)
        ci = np.array([bootstrap_ci(vals[:, k], seed=seed) for k in range(len(cols))])
        ax.stairs(mean, edges, label=f"{key} (n={len(g)})")
        ax.fill_between(np.repeat(edges, 2)[1:-1], np.repeat(ci[:, 0], 2),
                        np.repeat(ci[:, 1], 2), alpha=0.2, step=None)
    ref = ok["reference_condition"].iloc[0] if "reference_condition" in ok else "reference"
    ax.axhline(0, color="0.5", lw=0.8)
    ax.set_xlabel("t (0 = data, 1 = noise)")
    ax.set_ylabel("div f(ref) - div f(cond)" + (" per unit t" if per_unit_t else ", nats/bin"))
    ax.set_title(f"where the condition changes log p, along the {ref!s} path")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
