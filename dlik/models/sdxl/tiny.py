"""A tiny SDXL-format pipeline built offline from the real diffusers / transformers classes.

Same structure as SDXL: two CLIP text encoders (the second with a projection, whose pooled
output joins the micro-conditioning time ids in the UNet's "text_time" embedding), a
UNet2DConditionModel over 4-channel latents, an AutoencoderKL that downsamples x8 and the
scaled_linear schedule (beta 0.00085 to 0.012, 1000 steps, epsilon prediction). The
tokenizer is a CLIP BPE over a small vocabulary: the 256 byte symbols (alone and with the
word-end mark `</w>`), whole-word tokens for the caption words of the embedded image sets,
and the special tokens; any other word falls back to characters.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

BOS, EOS = "<|startoftext|>", "<|endoftext|>"
WORD_END = "</w>"

# Sizes of the shipped (trained) model; `tiny_random_pipeline` uses smaller ones.
DEFAULT_SIZES: dict[str, Any] = {
    "unet_channels": (64, 96, 96),
    "unet_layers_per_block": 1,
    "unet_heads": (2, 4, 4),
    "unet_transformer_layers": 1,
    "time_embed_dim": 8,
    "vae_channels": (16, 32, 64, 64),
    "vae_groups": 16,
    "text_hidden": 32,
    "text_hidden_2": 32,
    "text_layers": 2,
    "text_heads": 2,
    "projection_dim": 32,
    "max_length": 77,
    "vae_scaling_factor": 1.0,
}
TEST_SIZES: dict[str, Any] = {
    "unet_channels": (16, 32), "unet_heads": (2, 2), "vae_channels": (8, 8, 8, 8),
    "vae_groups": 4, "text_hidden": 16, "text_hidden_2": 16, "projection_dim": 16,
}
SCHEDULER_CONFIG: dict[str, Any] = {
    "num_train_timesteps": 1000, "beta_start": 0.00085, "beta_end": 0.012,
    "beta_schedule": "scaled_linear", "prediction_type": "epsilon",
    "interpolation_type": "linear", "timestep_spacing": "leading", "steps_offset": 1,
    "use_karras_sigmas": False,
}


def _byte_symbols() -> list[str]:
    """Return GPT-2 / CLIP's printable stand-in character for each of the 256 bytes."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) \
        + list(range(ord("®"), ord("ÿ") + 1))
    codes, extra = keep[:], 0
    for b in range(256):
        if b not in keep:
            keep.append(b)
            codes.append(256 + extra)
            extra += 1
    by_byte = dict(zip(keep, codes))
    return [chr(by_byte[b]) for b in range(256)]


def _bpe(word: str, ranks: dict[tuple[str, str], int]) -> list[str]:
    """Return the BPE symbols of one word under merge ranks (CLIP's rule: lowest rank first)."""
    syms = list(word[:-1]) + [word[-1] + WORD_END]
    while len(syms) > 1:
        pairs = [(ranks.get((a, b), 1 << 30), i) for i, (a, b) in enumerate(zip(syms, syms[1:]))]
        rank, i = min(pairs)
        if rank == 1 << 30:
            break
        syms = syms[:i] + [syms[i] + syms[i + 1]] + syms[i + 2:]
    return syms


def tokenizer_vocab(words: list[str]) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Return (vocab, merges) of a CLIP BPE that maps each of words to one whole-word token."""
    bad = [w for w in words if not w or not w.isascii() or not w.isalpha() or not w.islower()]
    if bad:
        raise ValueError(f"words must be non-empty lower-case ASCII letters, got {bad}")
    symbols = _byte_symbols()
    tokens = symbols + [s + WORD_END for s in symbols]
    merges: list[tuple[str, str]] = []
    ranks: dict[tuple[str, str], int] = {}
    for word in dict.fromkeys(words):  # keeps order, drops repeats
        syms = _bpe(word, ranks)
        while len(syms) > 1:  # a new merge has the lowest priority: earlier words keep theirs
            pair = (syms[0], syms[1])
            ranks[pair] = len(merges)
            merges.append(pair)
            tokens.append(pair[0] + pair[1])
            syms = _bpe(word, ranks)
    tokens = list(dict.fromkeys(tokens)) + [BOS, EOS]
    return {t: i for i, t in enumerate(tokens)}, merges


def default_words() -> list[str]:
    """Return the caption words of the embedded image sets (the tokenizer's whole words)."""
    from ...data.image_sets import caption_words

    return caption_words()


def write_tokenizer(dir: str | Path, words: list[str] | None = None,
                    max_length: int = 77) -> Path:
    """Write vocab.json, merges.txt and tokenizer_config.json of a CLIP BPE over words into
    dir (load with CLIPTokenizer(vocab_file, merges_file) or CLIPTokenizer.from_pretrained)."""
    out = Path(dir)
    out.mkdir(parents=True, exist_ok=True)
    vocab, merges = tokenizer_vocab(words if words is not None else default_words())
    (out / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False))
    lines = [f"{a} {b}" for a, b in merges]
    (out / "merges.txt").write_text("#version: 0.2\n" + "\n".join(lines) + "\n")
    config = {"tokenizer_class": "CLIPTokenizer", "model_max_length": max_length,
              "bos_token": BOS, "eos_token": EOS, "pad_token": EOS, "unk_token": EOS}
    (out / "tokenizer_config.json").write_text(json.dumps(config, indent=1))
    return out


def build_tokenizer(words: list[str] | None = None, max_length: int = 77):
    """Return a CLIPTokenizer over words (built in memory, same as from write_tokenizer files)."""
    from transformers import CLIPTokenizer

    vocab, merges = tokenizer_vocab(words if words is not None else default_words())
    return CLIPTokenizer(vocab=vocab, merges=merges, model_max_length=max_length)


def _sizes(sizes: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(sizes) - set(DEFAULT_SIZES))
    if unknown:
        raise ValueError(f"unknown size keys {unknown}; accepted: {sorted(DEFAULT_SIZES)}")
    return {**DEFAULT_SIZES, **sizes}


def _text_config(s: dict[str, Any], hidden: int, vocab_size: int, tok) -> Any:
    from transformers import CLIPTextConfig

    return CLIPTextConfig(
        vocab_size=vocab_size, hidden_size=hidden, intermediate_size=2 * hidden,
        projection_dim=s["projection_dim"], num_hidden_layers=s["text_layers"],
        num_attention_heads=s["text_heads"], max_position_embeddings=s["max_length"],
        hidden_act="gelu", bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id)


def tiny_unet(s: dict[str, Any], sample_size: int, cross_attention_dim: int, **kw: Any):
    """Return a random-weight UNet2DConditionModel of sizes s for sample_size images (the
    latent is sample_size / 8); kw adds UNet config keys (SDXL's micro-conditioning)."""
    from diffusers import UNet2DConditionModel

    n = len(s["unet_channels"])
    return UNet2DConditionModel(
        sample_size=sample_size // 8, in_channels=4, out_channels=4,
        block_out_channels=tuple(s["unet_channels"]), layers_per_block=s["unet_layers_per_block"],
        down_block_types=("DownBlock2D",) + ("CrossAttnDownBlock2D",) * (n - 1),
        up_block_types=("CrossAttnUpBlock2D",) * (n - 1) + ("UpBlock2D",),
        attention_head_dim=tuple(s["unet_heads"]), cross_attention_dim=cross_attention_dim,
        norm_num_groups=min(32, s["unet_channels"][0]), **kw)


def tiny_vae(s: dict[str, Any], sample_size: int, latent_channels: int = 4, **kw: Any):
    """Return a random-weight x8 AutoencoderKL of sizes s (kw: scaling_factor, shift_factor)."""
    from diffusers import AutoencoderKL

    return AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=latent_channels, sample_size=sample_size,
        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=tuple(s["vae_channels"]), layers_per_block=1,
        norm_num_groups=s["vae_groups"], force_upcast=False, **kw)


def tiny_pipeline_components(seed: int = 0, sample_size: int = 64, words: list[str] | None = None,
                             **sizes: Any) -> dict[str, Any]:
    """Return random-weight SDXL pipeline components (unet, vae, text encoders, tokenizers,
    scheduler) for sample_size x sample_size images; sizes override DEFAULT_SIZES keys."""
    from diffusers import EulerDiscreteScheduler
    from transformers import CLIPTextModel, CLIPTextModelWithProjection

    if sample_size < 8 or sample_size % 8:
        raise ValueError(f"sample_size must be a positive multiple of 8, got {sample_size}")
    s = _sizes(sizes)
    if len(s["vae_channels"]) != 4:
        raise ValueError(f"vae_channels needs 4 blocks (x8 downsampling), got {s['vae_channels']}")
    tok = build_tokenizer(words, s["max_length"])
    tok2 = build_tokenizer(words, s["max_length"])
    torch.manual_seed(seed)
    text_encoder = CLIPTextModel(_text_config(s, s["text_hidden"], len(tok), tok))
    text_encoder_2 = CLIPTextModelWithProjection(
        _text_config(s, s["text_hidden_2"], len(tok2), tok2))
    unet = tiny_unet(s, sample_size, s["text_hidden"] + s["text_hidden_2"],
                     use_linear_projection=True,
                     transformer_layers_per_block=s["unet_transformer_layers"],
                     addition_embed_type="text_time",
                     addition_time_embed_dim=s["time_embed_dim"],
                     projection_class_embeddings_input_dim=(s["projection_dim"]
                                                            + 6 * s["time_embed_dim"]))
    vae = tiny_vae(s, sample_size, scaling_factor=float(s["vae_scaling_factor"]))
    scheduler = EulerDiscreteScheduler(**SCHEDULER_CONFIG)
    return {"unet": unet, "vae": vae, "text_encoder": text_encoder,
            "text_encoder_2": text_encoder_2, "tokenizer": tok, "tokenizer_2": tok2,
            "scheduler": scheduler}


def build_tiny_pipeline(seed: int = 0, sample_size: int = 64, words: list[str] | None = None,
                        **sizes: Any):
    """Return a random-weight StableDiffusionXLPipeline (fp32, CPU) of tiny_pipeline_components."""
    from diffusers import StableDiffusionXLPipeline

    parts = tiny_pipeline_components(seed=seed, sample_size=sample_size, words=words, **sizes)
    return StableDiffusionXLPipeline(**parts, force_zeros_for_empty_prompt=True)


def tiny_random_pipeline(tmp_dir: str | Path, seed: int = 0, sample_size: int = 64) -> Path:
    """Write a very small random-weight SDXL pipeline folder (save_pretrained); return its path."""
    out = Path(tmp_dir)
    build_tiny_pipeline(seed=seed, sample_size=sample_size, **TEST_SIZES).save_pretrained(out)
    return out
