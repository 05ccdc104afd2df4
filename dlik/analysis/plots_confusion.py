"""Confusion matrices of prompt-confound studies (TTI): each image scored under every
candidate prompt; the most likely candidate is the prediction.

Rows need `true_label` (the image's value of the attribute) and `candidate_label` (the value
in the scored prompt), and `logp_nats`; one matrix per value of the grouping columns present
(`image_set`, `attribute`, `vae_mode`, `image_size`, `guidance_scale`, `source`: original or
reconstruction); the figure lays them out as a grid (attributes down, guidance x source across).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .figures import pyplot

NEEDS = ("sample_id", "true_label", "candidate_label", "logp_nats", "status")
GROUPS = ("image_set", "attribute", "vae_mode", "image_size", "guidance_scale", "source")
COLUMN_GROUPS = ("guidance_scale", "source")
"""Grouping columns laid out across the grid; the others go down it."""


def confusion(df: pd.DataFrame) -> dict[tuple, pd.DataFrame]:
    """Return {group values: counts (rows true label, columns predicted label)}."""
    missing = [c for c in NEEDS if c not in df.columns]
    if missing:
        raise ValueError(f"confusion matrices need columns {list(NEEDS)}; missing {missing}")
    ok = df[df["status"] == "ok"]
    groups = [c for c in GROUPS if c in ok.columns]
    out = {}
    for key, g in (ok.groupby(groups, sort=True) if groups else [((), ok)]):
        best = g.loc[g.groupby([*groups, "sample_id"])["logp_nats"].idxmax()]
        labels = sorted(set(g["true_label"].astype(str)) | set(g["candidate_label"].astype(str)))
        m = pd.crosstab(best["true_label"].astype(str), best["candidate_label"].astype(str))
        out[key if isinstance(key, tuple) else (key,)] = m.reindex(
            index=labels, columns=labels, fill_value=0)
    return out


def class_mean_accuracy(m: pd.DataFrame) -> float:
    """Return the mean over true labels (rows with images) of the fraction predicted right."""
    rows = m.sum(axis=1)
    keep = rows > 0
    return float((np.diag(m.to_numpy())[keep.to_numpy()] / rows[keep]).mean())


def _varying(mats: dict[tuple, pd.DataFrame], groups: list[str]
             ) -> tuple[dict[tuple, pd.DataFrame], list[str], dict[str, object]]:
    """Return (mats keyed by the grouping columns that vary, those columns, {constant column:
    its value}); the attribute is always kept."""
    keep = [i for i, g in enumerate(groups)
            if g == "attribute" or len({k[i] for k in mats}) > 1]
    first = next(iter(mats))
    fixed = {g: first[i] for i, g in enumerate(groups) if i not in keep}
    return ({tuple(k[i] for i in keep): m for k, m in mats.items()},
            [groups[i] for i in keep], fixed)


def _layout(keys: list[tuple], groups: list[str]) -> tuple[list[tuple], list[tuple]]:
    """Return (row keys, column keys) of the grid: columns are (guidance_scale, source) where
    present, rows every other grouping column (image set, attribute, ...)."""
    across = [i for i, g in enumerate(groups) if g in COLUMN_GROUPS]
    down = [i for i in range(len(groups)) if i not in across]
    rows = list(dict.fromkeys(tuple(k[i] for i in down) for k in keys))
    cols = list(dict.fromkeys(tuple(k[i] for i in across) for k in keys))
    return rows, cols


def _name(groups: list[str], values: tuple) -> str:
    return ", ".join(f"{g}={v:g}" if isinstance(v, float) else f"{v}"
                     for g, v in zip(groups, values)) or "all"


def confusion_matrices(df: pd.DataFrame, out: Path) -> list[tuple[Path, str]]:
    """Return [(PNG, caption)]: a grid of row-normalised confusion matrices, a row per
    attribute (and image set, VAE mode, size), a column per guidance scale and source."""
    plt = pyplot()
    mats, groups, fixed = _varying(confusion(df), [c for c in GROUPS if c in df.columns])
    down = [g for g in groups if g not in COLUMN_GROUPS]
    across = [g for g in groups if g in COLUMN_GROUPS]
    rows, cols = _layout(list(mats), groups)
    fig, axes = plt.subplots(len(rows), len(cols), squeeze=False,
                             figsize=(3.1 * len(cols) + 1.2, 3.0 * len(rows) + 0.6))
    im = None
    for key, m in mats.items():
        r = rows.index(tuple(k for g, k in zip(groups, key) if g not in COLUMN_GROUPS))
        c = cols.index(tuple(k for g, k in zip(groups, key) if g in COLUMN_GROUPS))
        ax = axes[r][c]
        frac = m.div(m.sum(axis=1).replace(0, np.nan), axis=0).to_numpy(float)
        im = ax.imshow(frac, vmin=0, vmax=1, cmap="Blues")
        ax.set_xticks(range(len(m.columns)), m.columns, rotation=45, ha="right", fontsize=7)
        ax.set_yticks(range(len(m.index)), m.index, fontsize=7)
        ax.set_title(f"{_name(across, cols[c])}\nn={int(m.to_numpy().sum())}, class-mean acc "
                     f"{100 * class_mean_accuracy(m):.0f}% (chance {100 / len(m):.0f}%)",
                     fontsize=8)
        if c == 0:
            ax.set_ylabel(f"{_name(down, rows[r])}\nimage's label", fontsize=8)
        if r == len(rows) - 1:
            ax.set_xlabel("most likely prompt's label", fontsize=7)
    for ax in axes.flat:
        if not ax.images:
            ax.set_axis_off()
    fig.suptitle("argmax-likelihood prompt per true label (row-normalised): rows "
                 f"{' x '.join(down) or 'all'}, columns {' x '.join(across) or 'all'}"
                 + "".join(f"; {g}={v}" for g, v in fixed.items()), fontsize=10)
    fig.tight_layout(rect=(0, 0, 0.93, 1))
    fig.colorbar(im, ax=axes.ravel().tolist(), fraction=0.02, pad=0.01,
                 label="fraction of the row's images")
    path = out / "confusion.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return [(path, "which candidate prompt the likelihood picks, per true label: a row per "
             "attribute, a column per guidance scale and source")]
