"""Study tables registered with dlik tables."""

from __future__ import annotations

from .cli import register
from .formatting import render


def _sanity_gaussian(df, args) -> str:
    ok = df[df["status"] == "ok"]
    if ok.empty:
        return "no rows scored"
    gap = (ok["bpd"] - ok["exact_bpd"]).abs()
    return (f"sanity_gaussian: {len(ok)} rows, max |bpd - exact_bpd| = {gap.max():.3e} "
            f"(mean {gap.mean():.3e}), mean nfe = {ok['nfe'].mean():.1f}")


register("sanity_gaussian", _sanity_gaussian, "engine vs closed-form Gaussian log-likelihood")


def _text_agnostic(df, args) -> str:
    from .text_agnostic import text_agnostic_table

    return render(text_agnostic_table(df, seed=args.seed), args.format, "{:.4f}")


register("text_agnostic", _text_agnostic, "text swaps: delta bpd vs own text, own-text win rate")


def _quality(df, args) -> str:
    from .quality import plot_quality, quality_table

    if args.out:
        plot_quality(df, args.out.with_suffix(".png"))
    return render(quality_table(df, seed=args.seed), args.format, "{:.4f}")


register("quality", _quality, "bpd vs degradation level (PNG beside --out)")


def _speaker(df, args) -> str:
    from .speaker import speaker_table

    return render(speaker_table(df, seed=args.seed), args.format, "{:.4f}")


register("speaker", _speaker, "true-speaker rank and argmax accuracy")


def _generative(df, args) -> str:
    from .generative import generative_table

    return render(generative_table(df), args.format, "{:.3f}")


register("generative_path", _generative, "Table 1: bpd and audio measures along the path")


def _domain(df, args) -> str:
    from .domain import domain_table

    return render(domain_table(df), args.format, "{:.3f}")


register("domain_adaptation", _domain, "Table 3: WER / bpd / ASV per solver pair")
