"""A tiny random-weight StableDiffusion3Pipeline folder for tests: two small CLIP encoders
with projections (the SDXL builder's tokenizer and text config), a 16-channel VAE with a
shift factor, a one-layer SD3Transformer2DModel, FlowMatchEulerDiscreteScheduler with a
shift, no T5 (text_encoder_3 = None, as the pipeline allows)."""

from __future__ import annotations

from pathlib import Path

import torch

from ..sdxl.tiny import TEST_SIZES, _sizes, _text_config, build_tokenizer, tiny_vae


def tiny_random_sd3_pipeline(tmp_dir: str | Path, seed: int = 0, sample_size: int = 32,
                             shift: float = 3.0) -> Path:
    """Write a very small random-weight SD3-layout folder (save_pretrained); return it."""
    from diffusers import (FlowMatchEulerDiscreteScheduler, SD3Transformer2DModel,
                           StableDiffusion3Pipeline)
    from transformers import CLIPTextModelWithProjection

    s = _sizes(TEST_SIZES)
    tok, tok2 = build_tokenizer(None, s["max_length"]), build_tokenizer(None, s["max_length"])
    torch.manual_seed(seed)
    enc = CLIPTextModelWithProjection(_text_config(s, s["text_hidden"], len(tok), tok))
    enc2 = CLIPTextModelWithProjection(_text_config(s, s["text_hidden_2"], len(tok2), tok2))
    transformer = SD3Transformer2DModel(
        sample_size=sample_size // 8, patch_size=2, in_channels=16, out_channels=16,
        num_layers=1, attention_head_dim=8, num_attention_heads=2, joint_attention_dim=48,
        caption_projection_dim=16, pooled_projection_dim=2 * s["projection_dim"],
        pos_embed_max_size=sample_size // 8)
    vae = tiny_vae(s, sample_size, latent_channels=16, scaling_factor=1.5, shift_factor=0.1)
    pipe = StableDiffusion3Pipeline(
        transformer=transformer, scheduler=FlowMatchEulerDiscreteScheduler(shift=shift),
        vae=vae, text_encoder=enc, tokenizer=tok, text_encoder_2=enc2, tokenizer_2=tok2,
        text_encoder_3=None, tokenizer_3=None)
    out = Path(tmp_dir)
    pipe.save_pretrained(out)
    return out
