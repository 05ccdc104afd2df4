"""The tiny SD3-format model's card (dlik/assets/sd3_tiny/README.md): its text, from the
numbers `scripts/sdxl_model_card_checks.py --family sd3` measures (its checks.json), beside
the same numbers of sdxl_tiny (dlik/assets/sdxl_tiny/checks.json)."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sdxl_model_card import _bpd_lines, _conditional_lines, _pct  # noqa: E402
from train_tiny_sd3 import MAX_LENGTH, SHIFT, T5_TOKENS  # noqa: E402

from dlik.models.sd3.tiny import SD3_TINY_SIZES  # noqa: E402

SDXL_CHECKS = Path(__file__).resolve().parents[1] / "dlik" / "assets" / "sdxl_tiny" / "checks.json"
NULL_SD3 = ('the empty prompt "" (its encoding: the 10%-dropout condition and the pipeline\'s '
            "negative prompt)")


def _beside_lines(c: dict, x: dict) -> list[str]:
    """Return a table of the two embedded architectures on the same checks (c: sd3, x: sdxl)."""
    def row(label: str, f) -> str:
        try:
            return f"| {label} | {f(x)} | {f(c)} |"
        except (KeyError, TypeError):
            return f"| {label} | - | - |"

    g = c["args"]["guidance"]
    lines = ["## Beside sdxl_tiny (same data, same VAE latents, same checks)", "",
             "| | sdxl_tiny (UNet, epsilon) | sd3_tiny (transformer, flow) |", "|---|---|---|",
             row("parameters", lambda d: f"{sum(d['params'].values()):,}"),
             row("training wall time (min)", lambda d: f"{d['train']['wall_min']:.0f}" + (
                 f" (VAE {d['train']['vae_wall_min']:.0f} of it)" if "vae_wall_min" in
                 d["train"] else " (VAE borrowed)"))]
    for name, res in c["conditional"].items():
        for a in res["chance"]:
            for v in g:
                lines.append(row(f"{name} {a}: sample accuracy g={v:g}",
                                 lambda d, n=name, a=a, v=v: _pct(
                                     d["conditional"][n][f"samples_guidance_{v:g}"][a])))
    for n in (k for k, v in c.get("bpd", {}).items() if isinstance(v, dict)):
        def b(d: dict, cond: str, n: str = n) -> float:
            return d["bpd"][n][cond]["latent_bpd"]

        lines += [
            row(f"{n}: random - true latent bpd",
                lambda d: f"{b(d, 'random') - b(d, 'true'):+.3f}"),
            row(f"{n}: own caption more likely than a random one",
                lambda d, n=n: _pct(d["bpd"][n]["random"]["true_lower_frac"])),
            row(f"{n}: true-prompt latent bpd", lambda d: f"{b(d, 'true'):.3f}"),
            row(f"{n}: NFE (dopri5 1e-3), s / row",
                lambda d, n=n: f"{d['bpd'][n]['mean_nfe']:.0f}, {d['bpd'][n]['s_per_row']:.2f}")]
    ratio = math.log2(c["vae_scaling_factor"] / x["vae_scaling_factor"])
    same = ("the same scaling factor (1 / std of the train latent means), so sd3_tiny's latent "
            "is sdxl_tiny's translated by its shift_factor, which leaves densities unchanged: "
            "the two models' bpd compare directly, absolute values included" if abs(ratio)
            < 1e-12 else f"scaling factors whose ratio shifts every bpd of sd3_tiny by "
            f"{ratio:+.4f} against sdxl_tiny's (differences between prompts compare directly)")
    return lines + ["", "Both from the same script, seeds and protocol (t_start 1e-5 for both: "
                    "sd3_tiny was trained on continuous t ~ U(0, 1), so t = 1e-5 is inside its "
                    "training range although its scheduler's first step is 1e-3). The latents "
                    f"are the same VAE's posterior means with {same}. One probe per row, no "
                    "pairing: these are the card's coarse checks; the studies' tables "
                    "(`dlik tables architectures`) give the paired ones.", ""]


def write_card(folder: Path, c: dict) -> None:
    """Write README.md (the model card) from the measured numbers in c."""
    p, t = c["params"], c["train"]
    z = SD3_TINY_SIZES
    sdxl = json.loads(SDXL_CHECKS.read_text()) if SDXL_CHECKS.is_file() else None
    lines = [
        "# dlik embedded tiny SD3-format model (`sd3_tiny`)", "",
        "A small text-to-image rectified-flow model in the Stable Diffusion 3 pipeline format, "
        "trained on CPU on the same procedurally rendered image sets as `sdxl_tiny`, over "
        "`sdxl_tiny`'s frozen VAE, so the two architectures (a diffusion UNet and a "
        "flow-matching transformer) are scored on the same latents by the same studies. "
        "`StableDiffusion3Pipeline.from_pretrained(\"dlik/assets/sd3_tiny\")` loads it (pass "
        f"`max_sequence_length={T5_TOKENS}`); dlik uses it as `model=sd3_tiny`. Every number "
        "below is written by `scripts/sdxl_model_card_checks.py --family sd3` (all of them in "
        "`checks.json`); `tests/test_tti_shipped.py` re-checks the true-vs-random bpd "
        "ordering.", "",
        "## Architecture", "",
        "| component | class | parameters |", "|---|---|---|",
        f"| transformer | SD3Transformer2DModel (patch {z['patch_size']}: 64 image tokens; "
        f"{z['num_layers']} joint blocks, {z['num_attention_heads']} heads x "
        f"{z['attention_head_dim']}, caption projection {z['caption_projection_dim']}, pooled "
        f"64) | {p['transformer']:,} |",
        f"| vae | sdxl_tiny's AutoencoderKL, frozen (x8: 64x64x3 -> 4x8x8); shift_factor "
        f"{c['vae_shift_factor']:.5f} = mean and scaling_factor {c['vae_scaling_factor']:.5f} "
        f"= 1 / std of the train latent means | {p['vae']:,} |",
        f"| text_encoder, text_encoder_2 | CLIPTextModelWithProjection (hidden 32, 2 layers, "
        f"projection 32; penultimate layer used) | {p['text_encoder']:,} + "
        f"{p['text_encoder_2']:,} |",
        f"| tokenizer(_2) | CLIPTokenizer, BPE over {c['vocab_size']} tokens (sdxl_tiny's "
        f"vocabulary); {MAX_LENGTH} tokens | - |",
        f"| text_encoder_3 (T5) | none: its tokens are {T5_TOKENS} zero vector(s), as "
        "the pipeline builds them without T5 | - |",
        f"| scheduler | FlowMatchEulerDiscreteScheduler, 1000 steps, shift {SHIFT:g} | - |", "",
        f"Total {sum(p.values()):,} parameters, fp32 safetensors, {c['size_mb']:.1f} MB on "
        "disk (this folder, limit 25 MB). Prompt embeddings: both CLIPs' penultimate hidden "
        "states concatenated (dim 64 = joint_attention_dim) then the zero T5 token; pooled = "
        "both projections concatenated, exactly as `StableDiffusion3Pipeline.encode_prompt`.",
        "",
        "## Training", "",
        "Data: the train splits of `clevr_shapes` and `pacs_styles`, 2,400 images each, "
        "64x64, latents = sdxl_tiny's VAE posterior mean, shifted and scaled (cached). "
        "`python scripts/train_tiny_sd3.py` (seed 0, 2 CPU threads): transformer + both text "
        f"encoders, {t['flow_steps']} AdamW steps (stopped by "
        + ("the 6000-step cap, inside" if t["flow_steps"] >= 6000 else "the wall budget of")
        + " 55 min), batch 64, lr 6e-4 (100 warm-up steps), grad clip 1, the rectified-"
        "flow loss: x_t = (1 - t) x0 + t eps with t ~ U(0, 1) (uniform, not SD3's logit-normal: "
        "the likelihood integrates the field over all t), MSE to the velocity eps - x0, the "
        "transformer called at timestep 1000 t; 10% caption dropout to the empty prompt; EMA "
        f"0.995 (EMA weights saved). Loss {t['flow_first_loss']:.3f} (first 25 steps) -> "
        f"{t['flow_final_loss']:.3f} (mean of the last 100), {t['wall_min']:.1f} min.", "",
        "Loss curve `loss.png`, per-step log `train_log.csv` (stage, step, loss, kl, wall_s).",
        "", "![loss](loss.png)", "",
        "## Samples", "",
        f"`samples.png`: pipeline samples ({c['args']['steps']} flow-matching Euler steps, "
        f"guidance_scale {c['args']['guidance'][-1]:g}, seed {c['args']['seed']}), first "
        "column a real held-out render of the prompt.", "", "![samples](samples.png)", "",
        *_conditional_lines(c, "flow-matching Euler"),
        "## Held-out bpd under true, swapped, random and null prompts", "",
        *_bpd_lines(c, "SD3Adapter", NULL_SD3, "transformer", " --family sd3"), "",
        *(_beside_lines(c, sdxl) if sdxl else []),
        "## Limits", "",
        f"- Tiny ({sum(p.values()) / 1e6:.1f}M parameters, {p['vae'] / 1e6:.1f}M of them the "
        "borrowed VAE) and trained for under an hour on CPU: a test fixture and an offline "
        "stand-in for SD3, not a model of natural images; its bpd says nothing about real SD3.",
        "- 4-channel latents (SD3's VAE has 16) and no T5: the SD3 pipeline, loader and adapter "
        "take it unchanged, but it exercises the CLIP-only path of the SD3 format.",
        "- Only the 48 captions of two closed vocabularies; other prompts are out of "
        "distribution. Fixed 64x64 resolution.",
        "- SD3-style models here declare `sample` (the prior N(0, I) at t = 1 and a reverse "
        "SDE with the flow's marginals) but not `score` (the ELBO ranker is VP-only).",
        "- The classifiers are hand-made and calibrated only on clean renders; the bpd "
        f"comparison uses {c.get('bpd', {}).get('per_set', 0)} images per set and one "
        "probe, so small differences are noise.", "",
        "## Reproduce", "", "```bash",
        "python scripts/train_tiny_sd3.py          # needs dlik/assets/sdxl_tiny (its VAE)",
        "python scripts/sdxl_model_card_checks.py --family sd3 --threads 1   # card, checks",
        "pytest -q tests/test_tti_shipped.py",
        "```", ""]
    (folder / "README.md").write_text("\n".join(lines))
