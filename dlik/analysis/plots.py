"""PNG plots of study CSVs (matplotlib Agg), a registry by table name: each plot states its
axes' units (bits/dim), n, and 95% bootstrap CIs where rows are sampled."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from .figures import pyplot, save_png
from .generative import mean_ci
from .paper_numbers import paper_table

BPD = "bpd (bits/dim)"
CI = "95% bootstrap CI over samples"


def _n(counts) -> str:
    lo, hi = int(np.min(counts)), int(np.max(counts))
    return f"n={lo}" if lo == hi else f"n={lo}–{hi}"


def _paper_values(table: str, column: str) -> list[dict]:
    entry = paper_table(table)
    return [v for v in (entry["values"] if entry else []) if v["column"] == column]


def text_swap_histograms(df: pd.DataFrame, out: Path) -> list[tuple[Path, str]]:
    """Return [(PNG, caption)]: histograms of delta bpd vs the own text, one per variant."""
    from .text_agnostic import with_deltas

    d = with_deltas(df)
    variants = list(d["text_variant"].unique())
    ncol = min(4, len(variants))
    nrow = -(-len(variants) // ncol)
    fig, axes = pyplot().subplots(nrow, ncol, figsize=(3.2 * ncol, 2.8 * nrow), squeeze=False)
    lim = max(float(d["delta_bpd"].abs().max()), 1e-6) * 1.1
    for ax, v in zip(axes.flat, variants):
        x = d.loc[d["text_variant"] == v, "delta_bpd"].to_numpy()
        lo, hi = mean_ci(x)
        ax.hist(x, bins=25, range=(-lim, lim), color="C0", alpha=0.8)
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.axvline(0, color="gray", lw=1)
        ax.axvline(x.mean(), color="C3", lw=1.5)
        if np.isfinite(lo):
            ax.axvspan(lo, hi, color="C3", alpha=0.2)
        ax.set_title(f"{v}: n={len(x)}\nmean {x.mean():+.3f} [{lo:+.3f}, {hi:+.3f}]", fontsize=9)
        ax.set_xlabel("Δbpd vs own text (bits/dim)")
        ax.set_ylabel("utterances")
    for ax in list(axes.flat)[len(variants):]:
        ax.axis("off")
    fig.suptitle(f"Text swaps: bpd(variant) − bpd(own text); red: mean and {CI}", fontsize=10)
    return [(save_png(fig, out / "delta_bpd_hist.png"), "Δbpd of each text variant against the "
             "utterance's own text (0 = text makes no difference)")]


def quality_levels(df: pd.DataFrame, out: Path, subject: str = "audio"
                   ) -> list[tuple[Path, str]]:
    """Return [(PNG, caption)]: delta bpd vs clean against perturbation level, with CIs, titled
    "Degraded <subject>" (audio for tts_quality, images for tti_quality)."""
    from .quality import quality_table

    t = quality_table(df)
    units = df.dropna(subset=["level_unit"]).groupby("perturbation")["level_unit"].first()
    names = [n for n in t["perturbation"].unique() if n != "clean"]
    ncol = min(4, max(len(names), 1))
    nrow = -(-max(len(names), 1) // ncol)
    fig, axes = pyplot().subplots(nrow, ncol, figsize=(3.2 * ncol, 2.8 * nrow), squeeze=False)
    for ax, name in zip(axes.flat, names):
        g = t[t["perturbation"] == name]
        x = np.arange(len(g))
        err = [g["mean_delta_bpd"] - g["ci_low"], g["ci_high"] - g["mean_delta_bpd"]]
        ax.errorbar(x, g["mean_delta_bpd"], yerr=np.abs(np.array(err, float)), fmt="o-",
                    capsize=3)
        ax.axhline(0, color="gray", lw=1)
        ax.set_xticks(x, [f"{float(v):g}" for v in g["level"]])
        ax.set_xlabel(f"level ({units.get(name, '-')})")
        ax.set_ylabel("Δbpd vs clean (bits/dim)")
        ax.set_title(f"{name}: {_n(g['n'])} per level", fontsize=9)
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    clean = t.loc[t["perturbation"] == "clean", "mean_bpd"].mean()
    fig.suptitle(f"Degraded {subject}: bpd − bpd(clean) (clean mean {clean:.3f} bits/dim); "
                 f"bars: {CI}", fontsize=10)
    return [(save_png(fig, out / "bpd_vs_level.png"), "Δbpd against perturbation level")]


def generative_path(df: pd.DataFrame, out: Path) -> list[tuple[Path, str]]:
    """Return [(PNG, caption)]: bpd along the reverse path per sampler, real audio, paper."""
    from .generative import generative_table

    t = generative_table(df)
    fig, ax = pyplot().subplots(figsize=(6.4, 4))
    path = t[t["sampler"] != "real"]
    for i, (s, g) in enumerate(path.groupby("sampler", sort=False)):
        x = g["t_saved"].astype(float)
        ax.plot(x, g["bpd"], "o-", color=f"C{i}", label=f"{s} (n={int(g['n'].max())} per t)")
        if g["bpd_ci_low"].notna().any():
            ax.fill_between(x, g["bpd_ci_low"], g["bpd_ci_high"], color=f"C{i}", alpha=0.2)
    real = t[t["sampler"] == "real"]
    if len(real):
        ax.axhline(real["bpd"].iloc[0], color="k", ls="--",
                   label=f"real audio (n={int(real['n'].iloc[0])})")
    for v in _paper_values("generative_path", "bpd"):
        if "t_saved" in v["row"]:
            ax.plot(float(v["row"]["t_saved"]), v["value"], "s", color="C3", mfc="none", ms=9)
        else:
            ax.axhline(v["value"], color="C3", ls=":", lw=1, label="paper, real audio (Table 1)")
    ax.plot([], [], "s", color="C3", mfc="none", label="paper, reverse ODE (Table 1)")
    ax.invert_xaxis()
    ax.set_xlabel("t at which the reverse-path sample was saved (1 = prior, 0 = end)")
    ax.set_ylabel(BPD)
    ax.set_title(f"bpd along the generative path; bands: {CI} (n ≥ 2)", fontsize=10)
    ax.legend(fontsize=8)
    return [(save_png(fig, out / "bpd_generative_path.png"), "bpd of samples saved along the "
             "reverse ODE/SDE, against the real audio and the paper's Table 1")]


def wer_bars(df: pd.DataFrame, out: Path) -> list[tuple[Path, str]]:
    """Return [(PNG, caption)]: WER (%) per N-best selection system with CIs and the paper's."""
    from .nbest import nbest_table

    t, p = nbest_table(df)
    fig, ax = pyplot().subplots(figsize=(6.4, 4))
    x = np.arange(len(t))
    lo = (t["wer"] - t["wer_ci_low"]).clip(lower=0)
    hi = (t["wer_ci_high"] - t["wer"]).clip(lower=0)
    ax.bar(x, t["wer"], yerr=[lo, hi], capsize=4, color="C0", label="ours")
    for i, label in enumerate(sorted({v.get("label", "") for v in _paper_values("nbest", "wer")})):
        vals = {v["row"]["system"]: v["value"] for v in _paper_values("nbest", "wer")
                if v.get("label", "") == label}
        ys = [vals.get(s, np.nan) for s in t["system"]]
        ax.plot(x, ys, "D^"[i % 2], color=f"C{i + 1}", ls="none",
                label=f"paper, {label} lists (Table 2)")
    ax.set_xticks(x, t["system"])
    ax.set_ylabel("WER (%)")
    ax.set_title(f"N-best rescoring: n={int(t['n_utterances'].iloc[0])} utterances, am vs "
                 f"likelihood p = {p:.3g}\nbars: {CI} (none for random)", fontsize=9)
    ax.legend(fontsize=8)
    return [(save_png(fig, out / "wer_bars.png"), "WER of each hypothesis-selection system")]


def speaker_matrix(df: pd.DataFrame, out: Path) -> list[tuple[Path, str]]:
    """Return [(PNG, caption)]: mean bpd of each audio speaker under each scored speaker id."""
    ok = df[df["status"] == "ok"]
    m = ok.pivot_table(index="true_speaker_index", columns="scored_speaker_index",
                       values="bpd", aggfunc="mean")
    n = ok.pivot_table(index="true_speaker_index", columns="scored_speaker_index",
                       values="bpd", aggfunc="count")
    fig, ax = pyplot().subplots(figsize=(1.0 + 0.7 * m.shape[1], 1.2 + 0.6 * m.shape[0]))
    im = ax.imshow(m.to_numpy(float), cmap="viridis")
    for (i, j), v in np.ndenumerate(m.to_numpy(float)):
        if np.isfinite(v):
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7, color="w")
        if m.index[i] == m.columns[j]:
            ax.add_patch(pyplot().Rectangle((j - .5, i - .5), 1, 1, fill=False, ec="r", lw=2))
    ax.set_xticks(range(m.shape[1]), [str(c) for c in m.columns])
    ax.set_yticks(range(m.shape[0]), [str(c) for c in m.index])
    ax.set_xlabel("speaker id the audio was scored under")
    ax.set_ylabel("speaker of the audio")
    fig.colorbar(im, ax=ax, label="mean bpd (bits/dim)")
    ax.set_title(f"{ok['sample_id'].nunique()} utterances, {_n(n.stack())} per cell; "
                 "red: true speaker", fontsize=9)
    return [(save_png(fig, out / "speaker_matrix.png"), "mean bpd per (audio speaker, scored "
             "speaker id); lower is more likely")]


def domain_bars(df: pd.DataFrame, out: Path) -> list[tuple[Path, str]]:
    """Return [(PNG, caption)]: WER, bpd and ASV per solver pair with CIs and the paper's."""
    ok = df[df["status"] == "ok"]
    labels = {"wer": "WER (fraction)", "bpd": BPD, "asv_cosine": "ASV cosine"}
    cols = [c for c in labels if c in ok.columns]
    pairs = list(ok["solver_pair"].unique())
    fig, axes = pyplot().subplots(1, len(cols), figsize=(3.6 * len(cols), 3.4), squeeze=False)
    for ax, c in zip(axes[0], cols):
        groups = [ok.loc[ok["solver_pair"] == p, c] for p in pairs]
        mean = np.array([g.mean() for g in groups])
        ci = np.array([mean_ci(g) for g in groups])
        err = np.nan_to_num(np.abs(np.stack([mean - ci[:, 0], ci[:, 1] - mean])))
        ax.bar(range(len(pairs)), mean, yerr=err, capsize=4, label="ours")
        paper = {v["row"]["solver_pair"]: v["value"] for v in _paper_values(
            "domain_adaptation", c)}
        ax.plot(range(len(pairs)), [paper.get(p, np.nan) for p in pairs], "D", color="C3",
                ls="none", label="paper (Table 3)")
        ax.set_xticks(range(len(pairs)), pairs, rotation=20)
        ax.set_ylabel(labels[c])
        ax.set_title(f"{c}: n={min(len(g) for g in groups)} per pair", fontsize=9)
    axes[0][0].legend(fontsize=8)
    fig.suptitle(f"Domain adaptation per forward/reverse solver pair; bars: {CI}", fontsize=10)
    return [(save_png(fig, out / "domain_bars.png"), "WER / bpd / ASV per solver pair")]


def gaussian_gap(df: pd.DataFrame, out: Path) -> list[tuple[Path, str]]:
    """Return [(PNG, caption)]: engine bpd minus the closed-form bpd, per sample."""
    ok = df[df["status"] == "ok"]
    fig, ax = pyplot().subplots(figsize=(5.6, 3.6))
    ax.plot(ok["exact_bpd"], ok["bpd"] - ok["exact_bpd"], "o", ms=4)
    ax.axhline(0, color="gray", lw=1)
    ax.set_xlabel("closed-form bpd (bits/dim)")
    ax.set_ylabel("engine − closed form (bits/dim)")
    ax.set_title(f"analytic Gaussian: n={len(ok)}, max |gap| = "
                 f"{(ok['bpd'] - ok['exact_bpd']).abs().max():.2e} bits/dim", fontsize=9)
    return [(save_png(fig, out / "gaussian_gap.png"), "engine against the exact likelihood")]


def tti_generative_guidance(df: pd.DataFrame, out: Path) -> list[tuple[Path, str]]:
    """Return [(PNG, caption)]: bpd against the guidance scale per kind (real, sample,
    reconstruction) and image size, with the bootstrap CI over prompts."""
    from .tti import GS, tti_generative_table

    t, _ = tti_generative_table(df)
    fig, ax = pyplot().subplots(figsize=(6.4, 4))
    for i, ((size, kind), g) in enumerate(t.groupby(["image_size", "kind"], sort=False)):
        ax.plot(g[GS], g["bpd"], "o-", color=f"C{i}",
                label=f"{kind}, {size} (n={int(g['n'].max())} per scale)")
        if g["bpd_ci_low"].notna().any():
            ax.fill_between(g[GS], g["bpd_ci_low"], g["bpd_ci_high"], color=f"C{i}",
                            alpha=0.2)
    ax.set_xlabel("guidance_scale inside the ODE (diffusers'; <= 1 = no guidance)")
    ax.set_ylabel("bpd of the scaled VAE latent (bits/dim)")
    ax.set_title(f"bpd of real images, samples, reconstructions; bands: {CI}", fontsize=10)
    ax.legend(fontsize=8)
    return [(save_png(fig, out / "bpd_vs_guidance_scale.png"), "bpd against the guidance scale "
             "per kind (paper Tables 4, 5, 7)")]


def image_quality_levels(df: pd.DataFrame, out: Path) -> list[tuple[Path, str]]:
    """Return [(PNG, caption)]: quality_levels of degraded images (tti_quality)."""
    return quality_levels(df, out, subject="images")


from .headroom import headroom_plot  # noqa: E402

PlotFn = Callable[[pd.DataFrame, Path], list[tuple[Path, str]]]


def perceptual_scatter(df: pd.DataFrame, out: Path) -> list[tuple[Path, str]]:
    """Return [(PNG, caption)]: bpd against each perceptual measure, one panel per kind."""
    from .perceptual import plot_perceptual

    plot_perceptual(df, out / "perceptual.png")
    return [(out / "perceptual.png", "bpd against each perceptual measure (rows), one panel "
             "per perturbation kind (columns), clean rows in grey; agreement = falling trend")]


PLOTS: dict[str, list[PlotFn]] = {
    "text_agnostic": [text_swap_histograms], "quality": [quality_levels],
    "generative_path": [generative_path], "nbest": [wer_bars], "speaker": [speaker_matrix],
    "domain_adaptation": [domain_bars], "sanity_gaussian": [gaussian_gap],
    "tti_generative_path": [tti_generative_guidance], "tti_quality": [image_quality_levels],
    "headroom": [headroom_plot], "perceptual": [quality_levels, perceptual_scatter],
}


def register_plot(table: str, fn: PlotFn) -> None:
    """Add plot fn(df, out_dir) -> [(png, caption)] to the report of table `table`."""
    PLOTS.setdefault(table, []).append(fn)


def plots_for(table: str | None, df: pd.DataFrame) -> list[PlotFn]:
    """Return the plots registered for table, else the ones its columns allow (perturbation
    levels; true/candidate labels for confusion matrices)."""
    from .plots_confusion import NEEDS, confusion_matrices

    if table in PLOTS:
        return PLOTS[table]
    fns: list[PlotFn] = []
    if {"perturbation", "level", "level_unit"} <= set(df.columns):
        fns.append(quality_levels)
    if set(NEEDS) <= set(df.columns):
        fns.append(confusion_matrices)
    return fns
