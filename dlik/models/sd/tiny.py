"""A tiny random-weight StableDiffusionPipeline folder (SD 1.x / 2.x layout) for tests: the
SDXL builder's tokenizer, text-encoder config, UNet (without micro-conditioning) and VAE,
one CLIPTextModel."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ..sdxl.tiny import (SCHEDULER_CONFIG, TEST_SIZES, _sizes, _text_config, build_tokenizer,
                         tiny_unet, tiny_vae)


def tiny_random_sd_pipeline(tmp_dir: str | Path, seed: int = 0, sample_size: int = 32,
                            prediction_type: str = "epsilon") -> Path:
    """Write a very small random-weight SD-1.x-layout folder (save_pretrained); return it."""
    from diffusers import EulerDiscreteScheduler, StableDiffusionPipeline
    from transformers import CLIPTextModel

    s = _sizes(TEST_SIZES)
    tok = build_tokenizer(None, s["max_length"])
    torch.manual_seed(seed)
    parts: dict[str, Any] = {
        "text_encoder": CLIPTextModel(_text_config(s, s["text_hidden"], len(tok), tok)),
        "unet": tiny_unet(s, sample_size, s["text_hidden"]),
        "vae": tiny_vae(s, sample_size, scaling_factor=float(s["vae_scaling_factor"])),
        "tokenizer": tok,
        "scheduler": EulerDiscreteScheduler(**{**SCHEDULER_CONFIG,
                                               "prediction_type": prediction_type}),
        "safety_checker": None, "feature_extractor": None}
    out = Path(tmp_dir)
    StableDiffusionPipeline(**parts, requires_safety_checker=False).save_pretrained(out)
    return out
