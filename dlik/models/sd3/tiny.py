"""Tiny SD3-format pieces built from the real diffusers / transformers classes: the
transformer and text encoders of the shipped `sd3_tiny` (scripts/train_tiny_sd3.py) and a
random-weight StableDiffusion3Pipeline folder for tests (two small CLIP encoders with
projections, a 16-channel VAE with a shift factor, a one-layer SD3Transformer2DModel,
FlowMatchEulerDiscreteScheduler with a shift, and either no T5 (text_encoder_3 = None, as
the pipeline allows) or a one-layer T5 with an offline-built Unigram tokenizer)."""

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


def tiny_t5(d_model: int, words: list[str] | None = None, seed: int = 0) -> dict[str, Any]:
    """Return a random-weight one-layer T5EncoderModel of width d_model and a T5TokenizerFast
    (a Unigram model over whole caption words, their letters and T5's specials, built
    offline with the tokenizers library) as text_encoder_3 / tokenizer_3."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import T5Config, T5EncoderModel, T5TokenizerFast

    from ..sdxl.tiny import default_words

    words = words if words is not None else default_words()
    letters = sorted({c for w in words for c in w})
    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("\u2581", -2.0)]
    vocab += [("\u2581" + w, -1.0) for w in words] + [(c, -5.0) for c in letters]
    tok = Tokenizer(models.Unigram(vocab, unk_id=2))
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    tok.post_processor = processors.TemplateProcessing(single="$A </s>",
                                                       special_tokens=[("</s>", 1)])
    fast = T5TokenizerFast(tokenizer_object=tok, eos_token="</s>", unk_token="<unk>",
                           pad_token="<pad>", extra_ids=0)
    torch.manual_seed(seed)
    enc = T5EncoderModel(T5Config(vocab_size=len(vocab), d_model=d_model, d_kv=8, d_ff=32,
                                  num_layers=1, num_heads=2, pad_token_id=0, eos_token_id=1))
    return {"text_encoder_3": enc, "tokenizer_3": fast}


def tiny_random_sd3_pipeline(tmp_dir: str | Path, seed: int = 0, sample_size: int = 32,
                             shift: float = 3.0, t5: bool = False) -> Path:
    """Write a very small random-weight SD3-layout folder (save_pretrained; with a tiny T5 as
    text_encoder_3 when t5); return it."""
    from diffusers import FlowMatchEulerDiscreteScheduler, StableDiffusion3Pipeline

    s = _sizes(TEST_SIZES)
    text = sd3_text_parts(s, seed)
    transformer = sd3_transformer(
        sample_size // 8, 16, joint_dim=48, pooled_dim=2 * s["projection_dim"], patch_size=2,
        num_layers=1, attention_head_dim=8, num_attention_heads=2, caption_projection_dim=16)
    vae = tiny_vae(s, sample_size, latent_channels=16, scaling_factor=1.5, shift_factor=0.1)
    pipe = StableDiffusion3Pipeline(
        transformer=transformer, scheduler=FlowMatchEulerDiscreteScheduler(shift=shift),
        vae=vae, **text, **(tiny_t5(48, seed=seed) if t5 else
                            {"text_encoder_3": None, "tokenizer_3": None}))
    out = Path(tmp_dir)
    pipe.save_pretrained(out)
    return out
