"""A tiny random-weight StableDiffusionPipeline folder (SD 1.x / 2.x layout) for tests: the
SDXL builder's tokenizer, text-encoder config and VAE, one CLIPTextModel, a UNet without
micro-conditioning."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ..sdxl.tiny import SCHEDULER_CONFIG, TEST_SIZES, _sizes, _text_config, tiny_pipeline_components


def tiny_random_sd_pipeline(tmp_dir: str | Path, seed: int = 0, sample_size: int = 32,
                            prediction_type: str = "epsilon") -> Path:
    """Write a very small random-weight SD-1.x-layout folder (save_pretrained); return it."""
    from diffusers import EulerDiscreteScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextModel

    s = _sizes(TEST_SIZES)
    xl = tiny_pipeline_components(seed=seed, sample_size=sample_size, **TEST_SIZES)
    tok = xl["tokenizer"]
    torch.manual_seed(seed + 1)
    n = len(s["unet_channels"])
    unet = UNet2DConditionModel(
        sample_size=sample_size // 8, in_channels=4, out_channels=4,
        block_out_channels=tuple(s["unet_channels"]), layers_per_block=s["unet_layers_per_block"],
        down_block_types=("DownBlock2D",) + ("CrossAttnDownBlock2D",) * (n - 1),
        up_block_types=("CrossAttnUpBlock2D",) * (n - 1) + ("UpBlock2D",),
        attention_head_dim=tuple(s["unet_heads"]), cross_attention_dim=s["text_hidden"],
        norm_num_groups=min(32, s["unet_channels"][0]))
    parts: dict[str, Any] = {
        "unet": unet, "vae": xl["vae"], "tokenizer": tok,
        "text_encoder": CLIPTextModel(_text_config(s, s["text_hidden"], len(tok), tok)),
        "scheduler": EulerDiscreteScheduler(**{**SCHEDULER_CONFIG,
                                               "prediction_type": prediction_type}),
        "safety_checker": None, "feature_extractor": None}
    out = Path(tmp_dir)
    StableDiffusionPipeline(**parts, requires_safety_checker=False).save_pretrained(out)
    return out
