"""Stable Diffusion 1.x / 2.x likelihood adapter: a StableDiffusionPipeline folder (one CLIP
text encoder, no micro-conditioning, epsilon- or v-prediction from its scheduler config)
scored with the same schedule, VAE latents, guidance and PF-ODE as SDXL
(dlik/models/sdxl/adapter.py; families.py says what differs). Guidance in diffusers'
convention; the unconditional prompt is the encoding of "" (the pipeline's default negative
prompt); likelihoods start at the first trained timestep t = 1/N.
"""

from __future__ import annotations

from ..sdxl.adapter import SDXLAdapter
from ..sdxl.families import FAMILIES


class SDAdapter(SDXLAdapter):
    """Scores an image's VAE latent under an SD 1.x / 2.x model given a prompt (the payload
    and columns of SDXLAdapter; `original_size` has no effect: no micro-conditioning)."""

    family = FAMILIES["sd"]

    def __init__(self, path: str | None = None, **kw) -> None:
        super().__init__(path=path, **kw)
