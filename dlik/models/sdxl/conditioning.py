"""Text conditioning as diffusers' pipelines build it, and SDXL's micro-conditioning ids.

SDXL: prompt_embeds = concat(penultimate hidden state of text_encoder, of text_encoder_2)
over the tokenizers' max_length (77) padded tokens, [L, D1 + D2]; pooled = text_encoder_2's
projected text_embeds [P]; the "unconditional" prompt is all zeros (SDXL's
force_zeros_for_empty_prompt), not the encoding of "".
SD 1.x / 2.x: prompt_embeds = the one text_encoder's last hidden state (after its final layer
norm), [L, D]; no pooled vector (an empty [0] tensor keeps the cond keys uniform); the
unconditional prompt is the encoding of "" (the pipeline's default negative prompt).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import torch

from .families import FAMILIES, Family


class PromptEncoder:
    """Encodes prompts with a family's text encoders; results are LRU-cached per prompt."""

    def __init__(self, tokenizers: tuple[Any, ...], encoders: tuple[Any, ...],
                 device: torch.device, cache_size: int = 1024,
                 family: Family = FAMILIES["sdxl"], zero_null: bool | None = None) -> None:
        self.tokenizers, self.encoders, self.family = tokenizers, encoders, family
        self.zero_null = family.zero_null if zero_null is None else bool(zero_null)
        self.device = device
        self._cache: OrderedDict[str, tuple[torch.Tensor, torch.Tensor, int]] = OrderedDict()
        self._cache_size = int(cache_size)

    @torch.no_grad()
    def _encode(self, prompt: str) -> tuple[torch.Tensor, torch.Tensor, int]:
        hidden, pooled, n_tokens = [], torch.zeros(0), 0
        for i, (tok, enc) in enumerate(zip(self.tokenizers, self.encoders)):
            ids = tok(prompt, padding="max_length", max_length=tok.model_max_length,
                      truncation=True, return_tensors="pt").input_ids.to(self.device)
            if i == 0:
                n_tokens = len(tok(prompt).input_ids)
            if self.family.hidden == "last":
                hidden.append(enc(ids)[0][0])
                continue
            out = enc(ids, output_hidden_states=True)
            hidden.append(out.hidden_states[-2][0])
            if self.family.pooled == "concat" or (self.family.pooled == "last"
                                                  and i == len(self.encoders) - 1):
                pooled = torch.cat([pooled.to(out.text_embeds), out.text_embeds[0]])
        return torch.cat(hidden, dim=-1).float(), pooled.float().to(self.device), n_tokens

    def encode(self, prompt: str) -> tuple[torch.Tensor, torch.Tensor, int]:
        """Return (prompt_embeds [L, D], pooled [P], token count incl. bos/eos) of a prompt."""
        if not isinstance(prompt, str):
            raise ValueError(f"prompt must be a str (or None for the null prompt), got "
                             f"{type(prompt).__name__}")
        if prompt not in self._cache:
            self._cache[prompt] = self._encode(prompt)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        self._cache.move_to_end(prompt)
        return self._cache[prompt]

    def null(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the unconditional (prompt_embeds, pooled): zeros shaped like an encoded
        prompt (SDXL's force_zeros_for_empty_prompt, read from model_index.json), or the
        encoding of "" (SD 1.x / 2.x, SD3, SDXL folders that set it false)."""
        pe, pooled, _ = self.encode("")
        if not self.zero_null:
            return pe, pooled
        return torch.zeros_like(pe), torch.zeros_like(pooled)

    @property
    def max_length(self) -> int:
        """Return the padded token length L (the first tokenizer's model_max_length)."""
        return int(self.tokenizers[0].model_max_length)


def time_ids(original_hw: tuple[int, int], crop_top_left: tuple[int, int],
             target_hw: tuple[int, int]) -> torch.Tensor:
    """Return SDXL's micro-conditioning [orig h, orig w, crop top, crop left, h, w] (float32)."""
    return torch.tensor([*original_hw, *crop_top_left, *target_hw], dtype=torch.float32)


def check_added_embedding(unet: Any, pooled_dim: int) -> None:
    """Raise when the UNet's text_time embedding does not take 6 time ids plus pooled_dim."""
    want = unet.add_embedding.linear_1.in_features
    have = unet.config.addition_time_embed_dim * 6 + pooled_dim
    if want != have:
        raise ValueError(f"the UNet's added embedding takes {want} inputs but 6 time ids x "
                         f"{unet.config.addition_time_embed_dim} + pooled {pooled_dim} = {have}: "
                         "text_encoder_2's projection_dim does not match the UNet")
