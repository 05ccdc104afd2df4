"""Confusion matrices of prompt-confound studies (TTI): each image scored under every
candidate prompt; the most likely candidate is the prediction.

Rows need `true_label` (the image's value of the attribute) and `candidate_label` (the value
in the scored prompt), and `logp_nats`; one matrix per value of the grouping columns present
(`attribute`, `cfg`, `vae_mode`, `image_size`, `source`: original or reconstruction).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

NEEDS = ("sample_id", "true_label", "candidate_label", "logp_nats", "status")
GROUPS = ("attribute", "cfg", "vae_mode", "image_size", "source")


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


def confusion_matrices(df: pd.DataFrame, out: Path) -> list[tuple[Path, str]]:
    """Return [(PNG, caption)]: one row-normalised confusion matrix per group."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mats = confusion(df)
    groups = [c for c in GROUPS if c in df.columns]
    fig, axes = plt.subplots(1, len(mats), figsize=(3.8 * len(mats), 3.6), squeeze=False)
    for ax, (key, m) in zip(axes[0], mats.items()):
        frac = m.div(m.sum(axis=1).replace(0, np.nan), axis=0).to_numpy(float)
        im = ax.imshow(frac, vmin=0, vmax=1, cmap="Blues")
        ax.set_xticks(range(len(m.columns)), m.columns, rotation=45, ha="right", fontsize=7)
        ax.set_yticks(range(len(m.index)), m.index, fontsize=7)
        ax.set_xlabel("most likely prompt's label")
        ax.set_ylabel("image's label")
        name = ", ".join(f"{g}={k}" for g, k in zip(groups, key)) or "all"
        ax.set_title(f"{name}: n={int(m.to_numpy().sum())} images\nclass-mean accuracy "
                     f"{100 * class_mean_accuracy(m):.0f}% (chance {100 / len(m):.0f}%)",
                     fontsize=9)
        fig.colorbar(im, ax=ax, label="fraction of the row's images")
    fig.tight_layout()
    path = out / "confusion.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return [(path, "which candidate prompt the likelihood picks, per true label")]
