"""The tiny SDXL-format model's card (dlik/assets/sdxl_tiny/README.md): its text, from the
numbers scripts/sdxl_model_card_checks.py measures (the dict it writes as checks.json)."""

from __future__ import annotations

import sys
from pathlib import Path

from dlik.data.image_sets import SETS

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_tiny_sdxl import TIME_IDS  # noqa: E402 - the training script's time ids


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


NULL_SDXL = "zero prompt embeddings and zero pooled vector (the 10%-dropout condition)"


def _bpd_lines(c: dict, adapter: str = "SDXLAdapter", null: str = NULL_SDXL,
               denoiser: str = "UNet", flags: str = "") -> list[str]:
    """Return the card's held-out bpd section (adapter: the class that scored it; null: what
    the null prompt is; flags: the checks script's --family flag)."""
    if "bpd" not in c:
        return ["TODO: not measured in this run; run `python scripts/sdxl_model_card_checks.py"
                f"{flags}` (without --skip-bpd)."]
    b = c["bpd"]
    lines = [
        f"The first {b['per_set']} test images of each set (every colour x shape, every style "
        f"x class once), scored by dlik's engine (`{adapter}` + `Runner`, {b['solver']}, "
        "one Rademacher probe, no guidance, VAE posterior mean) under: `true` = its own "
        "caption; `swap_<attr>` = that attribute changed to a seeded other value; `random` = "
        f"a seeded random other caption of the set; `null` = {null}. "
        "Latent bpd is over the 4x8x8 = 256 latent "
        "dims; pixel bpd divides the same log-density by 3x64x64 (it is not a pixel "
        "likelihood: the VAE is not accounted for). `true lower` = fraction of images whose "
        "own caption gives the lower bpd.", "",
        "| set | condition | latent bpd | pixel bpd | true lower | s / row |",
        "|---|---|---|---|---|---|"]
    for name in SETS:
        r0 = b[name]
        for cond_id, r in r0.items():
            if isinstance(r, dict):
                low = _pct(r["true_lower_frac"]) if "true_lower_frac" in r else "-"
                lines.append(f"| {name} | {cond_id} | {r['latent_bpd']:.3f} | "
                             f"{r['pixel_bpd']:.4f} | {low} | {r0['s_per_row']:.2f} |")
    lines.append("")
    for name in SETS:
        r = b[name]
        d = r["random"]["latent_bpd"] - r["true"]["latent_bpd"]
        lines.append(f"- {name}: mean latent bpd under a random prompt minus under the true "
                     f"prompt = {d:+.3f} ({'true lower' if d > 0 else 'NOT lower'}; "
                     f"{_pct(r['random']['true_lower_frac'])} of images); mean NFE "
                     f"{r['mean_nfe']:.0f}.")
    lines.append(f"- Wall time {b.get('total_wall_min', float('nan')):.1f} min, 1 CPU thread "
                 f"on a shared machine. Latent model hash `{b['latent_model_hash']}` ({denoiser}, "
                 "text encoders, tokenizers, scheduler, VAE encoder): `--reuse-bpd` refuses "
                 "a bpd section measured on any other, so a decoder-only change keeps it.")
    return lines


def _conditional_lines(c: dict, sampler: str) -> list[str]:
    """Return the card's conditional-check section (samples judged by the classifiers)."""
    cond, g = c["conditional"], c["args"]["guidance"]
    lines = [
        "## Conditional check: do samples show what the prompt asks for?", "",
        f"{c['args']['per_prompt']} samples for each of the 24 prompts of each set "
        f"({c['args']['steps']} {sampler} steps; guidance_scale 1 = no guidance, the plain "
        "conditional model), judged by simple classifiers: clevr colour = nearest palette "
        "hue of the chromatic pixels, shape = best IoU of the object mask with square / "
        "disc / cylinder templates (`dlik/data/render_classifier.py`); pacs style and class "
        "= attributes of the nearest train render in 16x16-thumbnail pixel space. Accuracy "
        "on the real held-out renders (all 48) and on their VAE reconstructions calibrates "
        "each classifier; chance = 1 / number of values.", "",
        "| set | attribute | chance | real renders | VAE recon | "
        + " | ".join(f"samples g={v:g}" for v in g) + " |",
        "|---|---|---|---|---|" + "---|" * len(g)]
    for name, res in cond.items():
        for a in res["chance"]:
            lines.append(f"| {name} | {a} | {_pct(res['chance'][a])} | "
                         f"{_pct(res['real_renders'][a])} | "
                         f"{_pct(res['vae_reconstructions'][a])} | "
                         + " | ".join(_pct(res[f"samples_guidance_{v:g}"][a]) for v in g)
                         + " |")
    above = [f"{n} {a} {_pct(r[f'samples_guidance_{v:g}'][a])} vs {_pct(r['chance'][a])}"
             for n, r in cond.items() for a in r["chance"] for v in g[:1]]
    return lines + [
        "", f"Unguided (g={g[0]:g}) sample accuracy vs chance: " + "; ".join(above) + ".",
        "", "VAE reconstruction MSE on the held-out renders (images in [-1, 1]): "
        + ", ".join(f"{n} {r['vae_recon_mse']:.4f}" for n, r in cond.items())
        + f". Sampling + classification took {c['conditional_wall_min']:.1f} min "
        f"({c['args']['threads']} thread).", ""]


def write_card(folder: Path, c: dict) -> None:
    """Write README.md (the model card) from the measured numbers in c."""
    p, t = c["params"], c["train"]
    g = c["args"]["guidance"]
    dec = [] if not t.get("decoder_steps") else [
        f"3. Decoder-only fine-tune (`train_decoder`, added after the UNet stage and run on "
        f"the shipped model after it, `--resume`): {t['decoder_steps']} Adam steps (stopped "
        "by its wall budget, cap 1000), batch 16, lr 1e-3, of "
        "`post_quant_conv` + `decoder` on the cached latents of the frozen encoder plus "
        "N(0, 0.1^2) noise in scaled units; MSE "
        f"{t['decoder_first_mse']:.4f} (first 25) -> {t['decoder_final_mse']:.4f} (last 25), "
        f"{t['decoder_wall_min']:.0f} min after the UNet stage ended (incl. resume overheads, "
        "1 thread). The encoder, scaling_factor, "
        "UNet and text encoders are unchanged, so the latents and every likelihood are the "
        "same as before it; it only changes how samples and reconstructions are decoded."]
    lines = [
        "# dlik embedded tiny SDXL-format model (`sdxl_tiny`)", "",
        "A small text-to-image latent diffusion model in the SDXL pipeline format, trained on "
        "CPU on dlik's procedurally rendered image sets, so the SDXL studies and tests run "
        "offline. `StableDiffusionXLPipeline.from_pretrained(\"dlik/assets/sdxl_tiny\")` "
        "loads it; dlik uses it as `model=sdxl_tiny` (`path: embedded`). Every number below "
        "is written by `scripts/sdxl_model_card_checks.py` (all of them in `checks.json`); "
        "`tests/test_tti_shipped.py` re-checks the true-vs-random bpd ordering.", "",
        "## Architecture", "",
        "| component | class | parameters |", "|---|---|---|",
        f"| unet | UNet2DConditionModel (blocks 64/96/96, 1 layer per block, cross-attention "
        f"at 4x4 and 2x2, `addition_embed_type=text_time`) | {p['unet']:,} |",
        f"| vae | AutoencoderKL (x8: 64x64x3 -> 4x8x8; scaling_factor "
        f"{c['vae_scaling_factor']:.5f} = 1 / std of the train latent means) | {p['vae']:,} |",
        f"| text_encoder | CLIPTextModel (hidden 32, 2 layers; penultimate layer used) | "
        f"{p['text_encoder']:,} |",
        f"| text_encoder_2 | CLIPTextModelWithProjection (hidden 32, projection 32 = pooled) | "
        f"{p['text_encoder_2']:,} |",
        f"| tokenizer(_2) | CLIPTokenizer, BPE over {c['vocab_size']} tokens: bytes + whole "
        "caption words + specials; 77 tokens | - |",
        "| scheduler | EulerDiscreteScheduler, scaled_linear beta 0.00085-0.012, 1000 steps, "
        "epsilon | - |", "",
        f"Total {sum(p.values()):,} parameters, fp32 safetensors, {c['size_mb']:.1f} MB on "
        "disk (this folder, limit 25 MB). Micro-conditioning time ids "
        f"{tuple(int(v) for v in TIME_IDS)}; prompt embeddings are the concatenated "
        "penultimate hidden states of both encoders (dim 64), pooled = text_encoder_2's "
        "projection, exactly as `StableDiffusionXLPipeline.encode_prompt`.", "",
        "## Training", "",
        "Data: the train splits of `clevr_shapes` (8 colours x 3 shapes, \"a red cube\") and "
        "`pacs_styles` (4 styles x 6 classes, \"a cartoon of a fish\"), 2,400 images each, "
        "64x64 (`dlik/data/image_sets.py`); test splits (48 each) held out. "
        "`python scripts/train_tiny_sdxl.py` (seed 0, 2 CPU threads on a shared 2-core "
        "machine):", "",
        f"1. VAE: {t['vae_steps']} Adam steps, batch 16, lr 1e-3, MSE + 1e-6 KL; final "
        f"reconstruction MSE {t['vae_final_mse']:.4f} (images in [-1, 1]), "
        f"{t['vae_wall_min']:.1f} min. Then frozen; latents = posterior mean x "
        "scaling_factor, cached.",
        f"2. UNet + both text encoders: {t['unet_steps']} AdamW steps (stopped by the 50 min "
        "wall budget, not the 4000-step cap), batch 64, lr 1e-3 (100 warm-up steps), grad "
        "clip 1, epsilon-prediction MSE over the 1000 discrete timesteps, 10% caption "
        "dropout to the null condition (zero prompt embeddings and zero pooled vector = the "
        "likelihood adapter's unconditional), EMA 0.995 (EMA weights saved). Loss "
        f"{t['unet_first_loss']:.3f} (first 25 steps) -> {t['unet_final_loss']:.3f} (mean "
        f"of the last 100). VAE + UNet wall time {t['wall_min']:.1f} min.",
        *dec, "", "Loss curves `loss.png`, per-step log `train_log.csv` (stage, step, loss, "
        "kl, wall_s).", "", "![loss](loss.png)", "",
        "## Samples", "",
        f"`samples.png`: pipeline samples ({c['args']['steps']} Euler steps, "
        f"guidance_scale {g[-1]:g}, seed {c['args']['seed']}), first column a real held-out "
        "render of the prompt.", "", "![samples](samples.png)", "",
        *_conditional_lines(c, "Euler"),
        "## Held-out bpd under true, swapped, random and null prompts", "",
        *_bpd_lines(c), "",
        "## Limits", "",
        f"- Tiny ({sum(p.values()) / 1e6:.1f}M parameters) and trained for about an "
        "hour on CPU: samples are blurry 64x64 images; it is a test fixture and an "
        "offline stand-in for SDXL, not a model of natural images. Its bpd values say "
        "nothing about real SDXL (a negative latent bpd is a density > 1 on a 256-dim "
        "latent, fine for a continuous model).",
        "- Only 48 distinct captions (two closed vocabularies); the tokenizers know only "
        "the caption words (others fall back to bytes), so any other prompt is out of "
        "distribution.",
        "- The null prompt is all-zero embeddings and pooled vector (what the adapter "
        "calls unconditional), not the encoded empty string; the pipeline's negative "
        "prompt uses the same zeros (`force_zeros_for_empty_prompt`).",
        "- Fixed 64x64 resolution and time ids; the VAE is weak (see the reconstruction "
        "columns), so pixel-space judgements of samples are limited by the decoder as "
        "much as by the UNet.",
        "- The classifiers are hand-made and calibrated only on clean renders; the bpd "
        f"comparison uses {c.get('bpd', {}).get('per_set', 0)} images per set and one "
        "probe, so small differences are noise.", "",
        "## Reproduce", "", "```bash",
        "python scripts/make_shapes_dataset.py      # render the sets (else on first use)",
        "python scripts/train_tiny_sdxl.py          # VAE, UNet, decoder; --resume continues",
        "python scripts/sdxl_model_card_checks.py --threads 1     # card, samples, checks",
        "# or in two parts (bpd needs only the UNet, text encoders and VAE encoder):",
        "python scripts/sdxl_model_card_checks.py --bpd-only --bpd-items 24",
        "python scripts/sdxl_model_card_checks.py --reuse-bpd",
        "pytest -q tests/test_tti_shipped.py",
        "```", ""]
    (folder / "README.md").write_text("\n".join(lines))
