"""The table builders of dlik tables: fn(df, args) -> str, listed in TABLES by name."""

from __future__ import annotations

from collections.abc import Callable

from .formatting import render


def _nbest(df, args) -> str:
    from .nbest import nbest_table, resolve_oracle_by
    from .text_norm import NORMALIZATIONS

    oracle_by = resolve_oracle_by(df, args.oracle_by)
    table, p = nbest_table(df, n_random=args.n_random, seed=args.seed,
                           normalize=args.normalize, oracle_by=oracle_by)
    out = render(table, args.format)
    if args.format != "csv":
        oracle = ("the input's per-hypothesis wer column" if oracle_by == "wer"
                  else "word errors after normalisation")
        out += (f"\n\ntext normalisation: {args.normalize}: {NORMALIZATIONS[args.normalize]}"
                f"\noracle best/worst: by {oracle}"
                f"\nmatched pairs (paired bootstrap, am vs likelihood): p = {p:.4g}")
        out = _with_notes(out, _noise_notes(df, close_calls_by=["sample_id"]), args.format)
    return out


def _sanity_gaussian(df, args) -> str:
    ok = df[df["status"] == "ok"]
    if ok.empty:
        return "no rows scored"
    gap = (ok["bpd"] - ok["exact_bpd"]).abs()
    return (f"sanity_gaussian: {len(ok)} rows, max |bpd - exact_bpd| = {gap.max():.3e} "
            f"(mean {gap.mean():.3e}), mean nfe = {ok['nfe'].mean():.1f}")


def _text_agnostic(df, args) -> str:
    from .text_agnostic import text_agnostic_table

    table = text_agnostic_table(df, seed=args.seed)
    notes = ["delta = bpd(text) - bpd(own text) of the same audio; CI: 95% bootstrap over "
             "utterances; mc_se: median Monte-Carlo standard error of one delta (paired over "
             "shared probes); resolved: the CI over utterances excludes 0",
             *_noise_notes(df, contrast="delta_bpd", se_column="delta_bpd_se", table=table)]
    # three significant digits: paired text effects on Grad-TTS are ~1e-5 bpd, empty text 0.1
    return _with_notes(render(table, args.format, "{:.3g}"), notes, args.format)


def _level_table(df, args, table) -> str:
    """Render a bpd-against-level table (the PNG plot beside --out)."""
    from .quality import plot_quality

    if args.out:
        plot_quality(df, args.out.with_suffix(".png"))
    return _with_notes(render(table(df, seed=args.seed), args.format, "{:.4f}"),
                       _noise_notes(df), args.format)


def _noise_notes(df, close_calls_by: list[str] | None = None, contrast: str = "bpd",
                 se_column: str = "bpd_se", table=None, n_column: str = "n") -> list[str]:
    """Return the footer every study table carries: the Monte-Carlo noise of its contrast (or
    that it was not measured), the solver's measured error, the n<8 flag when table's
    n_column has small counts, and (argmax tables) the calls within 2 paired standard errors."""
    from .resolution import close_calls, resolution_notes

    notes = resolution_notes(df, contrast, se_column, table, n_column)
    if close_calls_by and "status" in df:
        notes.append(close_calls(df, close_calls_by))
    return [n for n in notes if n]


def _with_notes(out: str, notes: list[str], fmt: str) -> str:
    """Return a rendered table with its note lines under it (LaTeX comments; none in csv)."""
    if fmt == "csv":
        return out
    prefix = "% " if fmt == "latex" else ""
    return out + "\n" + "\n".join(prefix + n for n in notes)


def _quality(df, args) -> str:
    from .quality import quality_table

    return _level_table(df, args, quality_table)


def _speaker(df, args) -> str:
    from .speaker import speaker_table

    table = speaker_table(df, seed=args.seed)
    return _with_notes(render(table, args.format, "{:.4f}"),
                       _noise_notes(df, ["sample_id"], table=table), args.format)


def _generative(df, args) -> str:
    from .generative import generative_table

    return _with_notes(render(generative_table(df), args.format, "{:.3f}"), _noise_notes(df),
                       args.format)


def _domain(df, args) -> str:
    from .domain import domain_table

    return _with_notes(render(domain_table(df), args.format, "{:.3f}"), _noise_notes(df),
                       args.format)


def _tti_generative(df, args) -> str:
    from .tti import samples_grid, tti_generative_table

    table, notes = tti_generative_table(df, seed=args.seed)
    if args.out:
        png = args.out.with_name(args.out.stem + "_images.png")
        if samples_grid(df, [p.parent for p in args.input], png):
            notes.append(f"{png.name}: a row per prompt (labelled); the real image, then "
                         "samples and reconstructions by guidance_scale (titled)")
    return _with_notes(render(table, args.format, "{:.3f}"), [*notes, *_noise_notes(df)],
                       args.format)


def _tti_quality(df, args) -> str:
    from .tti import tti_quality_table

    return _level_table(df, args, tti_quality_table)


def _perceptual(df, args) -> str:
    from .perceptual import display_table, perceptual_table, plot_perceptual

    table = perceptual_table(df, seed=args.seed)
    if args.format == "csv":
        return render(table, "csv", "{:.4f}")
    if args.out:
        plot_perceptual(df, args.out.with_suffix(".png"))
    notes = ["rank correlations of bpd with each measure over rows (clean rows in every kind); "
             "within_*: mean over inputs of the correlation across that input's levels; CIs: "
             "95% percentile bootstrap over inputs; agreement = negative (higher bpd, lower "
             "quality); ci_has_0 lists the statistics not resolved from 0 (all of them under 8 "
             "inputs: a bootstrap over so few inputs resolves nothing)",
             *_noise_notes(df, table=table, n_column="n_inputs")]
    return _with_notes(render(display_table(table), args.format, "{:+.2f}"), notes, args.format)


# Beyond the paper (README section of that name): protocols, pmi, attribution, ELBO agreement.
def _protocols(df, args) -> str:
    from .protocols import protocol_notes, protocol_table

    return _with_notes(render(protocol_table(df), args.format, "{:.3g}"), protocol_notes(df),
                       args.format)


def _pmi(df, args) -> str:
    from .pmi import pmi_table

    return render(pmi_table(df, seed=args.seed), args.format, "{:.3g}")


def _attribution(df, args) -> str:
    from .attribution import attribution_figure, attribution_table

    if args.out:
        attribution_figure(df, seed=args.seed).savefig(args.out.with_suffix(".png"), dpi=120)
    return render(attribution_table(df), args.format, "{:.4f}")


def _headroom(df, args) -> str:
    from .headroom import headroom_figure, headroom_per_input, headroom_summary

    per = headroom_per_input(df)
    if per.empty:
        return "no input has an ok 'true' row"
    if args.out:
        headroom_figure(per).savefig(args.out.with_suffix(".png"), dpi=120)
    cols = ["model_id", "sample_id", "bpd_null_condition", "bpd_true", "bpd_best_word",
            "bpd_best", "bpd_worst", "headroom_bpd", "headroom_se", "true_share", "confirmed",
            "best_word_text", "search_s"]
    return (render(per[cols], args.format, "{:.4f}") + "\n\n"
            + render(headroom_summary(per), args.format, "{:.4f}"))


def _elbo_agreement(df, args) -> str:
    from .elbo_agreement import elbo_agreement_table

    return render(elbo_agreement_table(df, seed=args.seed), args.format, "{:.4f}")


def _without_null(fn):
    """Return the table builder fn applied to df without its null-condition rows."""
    def table(df, args):
        from .pmi import without_null_rows

        return fn(without_null_rows(df), args)
    return table


def _prompt_confounds(df, args) -> str:
    from .prompt_confounds import prompt_confounds, render_confusions, table_notes

    from .prompt_confounds import GROUP

    table, mats = prompt_confounds(df, seed=args.seed)
    out = render(table, args.format, "{:.2f}")
    if args.format == "csv":
        return out
    notes = [*table_notes(table, df),
             *_noise_notes(df, [*GROUP, "sample_id"], table=table[table["system"] == "likelihood"],
                           n_column="n_images")]
    out = _with_notes(out, notes, args.format)
    return f"{out}\n\n{render_confusions(mats, args.format)}"


def _architectures(df, args) -> str:
    from .architectures import architecture_notes, confound_accuracy, quality_slopes

    parts = []
    for title, build in (("prompt confounds", confound_accuracy),
                         ("image quality", quality_slopes)):
        try:
            parts.append((title, render(build(df, seed=args.seed), args.format, "{:.3g}")))
        except ValueError as exc:
            parts.append((title, f"({exc})"))
    head = "" if args.format == "csv" else "## "
    text = "\n\n".join(f"{head}{t}\n\n{body}" for t, body in parts)
    return _with_notes(text, architecture_notes(df), args.format)


# name -> (builder, help); the null-condition rows (pmi) are not candidates of the speaker or
# N-best tables. dlik report picks a run's table by the longest name inside its experiment name.
TABLES: dict[str, tuple[Callable, str]] = {
    "nbest": (_without_null(_nbest), "Table 2: WER of N-best selection systems"),
    "sanity_gaussian": (_sanity_gaussian, "engine vs closed-form Gaussian log-likelihood"),
    "text_agnostic": (_text_agnostic, "text swaps: delta bpd vs own text, own-text win rate"),
    "quality": (_quality, "bpd vs degradation level (PNG beside --out)"),
    "speaker": (_without_null(_speaker), "true-speaker rank and argmax accuracy"),
    "generative_path": (_generative, "Table 1: bpd and audio measures along the path"),
    "domain_adaptation": (_domain, "Table 3: WER / bpd / ASV per solver pair"),
    "tti_generative_path": (
        _tti_generative, "Tables 4/5/7: bpd, CLIP score, FID of SDXL samples and "
        "reconstructions per guidance scale (labelled image grid PNG beside --out)"),
    "tti_quality": (_tti_quality, "TTI: bpd vs image degradation level (PNG beside --out)"),
    "protocols": (_protocols, "the paper's independent probes beside dlik's paired ones on the "
                  "same inputs (text swaps, prompt confounds): two CSVs, one per protocol"),
    "pmi": (_pmi, "pmi = log p(x|c) - log p(x|null) in bits and bits/dim per condition"),
    "attribution": (_attribution,
                    "shared-path attribution: mean d log p per t-bin (PNG beside --out)"),
    "headroom": (_headroom, "condition headroom: bpd under true / null / best / worst / "
                 "best-word conditions, headroom with paired SEs (PNG beside --out)"),
    "elbo_agreement": (_elbo_agreement,
                       "ELBO ranker vs exact likelihood: Kendall tau, top-1 agreement, cost ratio"),
    "architectures": (_architectures, "TTI models side by side (model_id): prompt-confound "
                      "accuracy and image-quality slopes; give each model's CSVs"),
    "perceptual": (_perceptual, "bpd vs perceptual measures (DNSMOS, PESQ, STOI, SSIM): "
                   "Spearman/Kendall per kind and pooled, within-input, bootstrap CIs (PNG "
                   "beside --out)"),
    "prompt_confounds": (_prompt_confounds, "Table 6: argmax-likelihood prompt accuracy "
                         "(class-mean, per image, MRR), confusions"),
}
