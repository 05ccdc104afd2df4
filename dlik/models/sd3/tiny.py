"""Tiny SD3-format pieces built from the real diffusers / transformers classes: the
transformer and text encoders of the shipped `sd3_tiny` (scripts/train_tiny_sd3.py) and a
random-weight StableDiffusion3Pipeline folder for tests (two small CLIP encoders with
projections, a 16-channel VAE with a shift factor, a one-layer SD3Transformer2DModel,
FlowMatchEulerDiscreteScheduler with a shift, no T5: text_encoder_3 = None, as the pipeline
allows)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ..sdxl.tiny import TEST_SIZES, _sizes, _text_config, build_tokenizer, tiny_vae

# Sizes of the shipped sd3_tiny transformer (8 x 8 x 4 latents of sdxl_tiny's VAE).
SD3_TINY_SIZES: dict[str, Any] = {
    "patch_size": 1, "num_layers": 6, "attention_head_dim": 32, "num_attention_heads": 4,
    "caption_projection_dim": 128,
}


def sd3_transformer(latent_size: int, channels: int, joint_dim: int, pooled_dim: int,
                    **sizes: Any):
    """Return a random-weight SD3Transformer2DModel over latent_size^2 x channels latents
    (sizes: SD3Transformer2DModel config keys, e.g. SD3_TINY_SIZES)."""
    from diffusers import SD3Transformer2DModel

    return SD3Transformer2DModel(
        sample_size=latent_size, in_channels=channels, out_channels=channels,
        joint_attention_dim=joint_dim, pooled_projection_dim=pooled_dim,
        pos_embed_max_size=latent_size, **sizes)


def sd3_text_parts(s: dict[str, Any], seed: int) -> dict[str, Any]:
    """Return two CLIPTextModelWithProjection encoders and their tokenizers of sizes s."""
    from transformers import CLIPTextModelWithProjection

    tok, tok2 = build_tokenizer(None, s["max_length"]), build_tokenizer(None, s["max_length"])
    torch.manual_seed(seed)
    enc = CLIPTextModelWithProjection(_text_config(s, s["text_hidden"], len(tok), tok))
    enc2 = CLIPTextModelWithProjection(_text_config(s, s["text_hidden_2"], len(tok2), tok2))
    return {"text_encoder": enc, "tokenizer": tok, "text_encoder_2": enc2, "tokenizer_2": tok2}


def tiny_random_sd3_pipeline(tmp_dir: str | Path, seed: int = 0, sample_size: int = 32,
                             shift: float = 3.0) -> Path:
    """Write a very small random-weight SD3-layout folder (save_pretrained); return it."""
    from diffusers import FlowMatchEulerDiscreteScheduler, StableDiffusion3Pipeline

    s = _sizes(TEST_SIZES)
    text = sd3_text_parts(s, seed)
    transformer = sd3_transformer(
        sample_size // 8, 16, joint_dim=48, pooled_dim=2 * s["projection_dim"], patch_size=2,
        num_layers=1, attention_head_dim=8, num_attention_heads=2, caption_projection_dim=16)
    vae = tiny_vae(s, sample_size, latent_channels=16, scaling_factor=1.5, shift_factor=0.1)
    pipe = StableDiffusion3Pipeline(
        transformer=transformer, scheduler=FlowMatchEulerDiscreteScheduler(shift=shift),
        vae=vae, text_encoder_3=None, tokenizer_3=None, **text)
    out = Path(tmp_dir)
    pipe.save_pretrained(out)
    return out
