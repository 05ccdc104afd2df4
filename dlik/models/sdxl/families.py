"""The latent-diffusion families the UNet adapter scores, and what tells them apart: which
text encoders a diffusers folder holds, how the pipeline turns a prompt into the UNet's
cross-attention input, what its unconditional prompt is, and whether the UNet takes SDXL's
pooled-text + time-id micro-conditioning. Everything else (VP schedule, epsilon / v
prediction, VAE latents, guidance, PF-ODE) is shared. A new family is one entry here, a
config and an adapter subclass in its own folder.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Family:
    """One pipeline family of diffusers' UNet latent diffusion models."""

    name: str
    """model_id prefix."""
    label: str
    """What errors call such a folder."""
    encoders: tuple[tuple[str, str], ...]
    """(component folder, transformers class) of each text encoder, in concatenation order."""
    tokenizers: tuple[str, ...]
    hidden: str
    """'penultimate': hidden_states[-2] of each encoder (SDXL's encode_prompt); 'last': the
    last hidden state after the final layer norm (SD 1.x / 2.x's text_encoder(ids)[0])."""
    zero_null: bool
    """True: the unconditional prompt is all zeros (SDXL's force_zeros_for_empty_prompt);
    False: it is the encoding of the empty prompt "" (SD 1.x / 2.x)."""
    micro_conditioning: bool
    """True: the UNet takes added_cond_kwargs text_embeds (the last encoder's pooled
    projection) and 6 time ids (addition_embed_type 'text_time')."""
    hint: str
    """How to get such a folder (the loader's errors end with it)."""
    pooled: str = "none"
    """The pooled text vector: 'last' (the last encoder's projection: SDXL), 'concat' (every
    encoder's projection, concatenated: SD3) or 'none' (SD 1.x / 2.x)."""
    denoiser: tuple[str, str] = ("unet", "UNet2DConditionModel")
    """(component folder, diffusers class) of the network."""
    embedded: str | None = None
    """The shipped tiny model of this family: its folder under dlik/assets (what
    model.path=embedded loads) and its config name (model=<embedded>, which also sets the
    settings it was trained with); None: none shipped. train_script trains it."""
    train_script: str = ""

    @property
    def components(self) -> tuple[str, ...]:
        """Return every component folder a diffusers folder of this family needs."""
        return (self.denoiser[0], "vae", *(c for c, _ in self.encoders), *self.tokenizers,
                "scheduler")


FAMILIES = {
    "sdxl": Family(
        name="sdxl", label="SDXL",
        encoders=(("text_encoder", "CLIPTextModel"),
                  ("text_encoder_2", "CLIPTextModelWithProjection")),
        tokenizers=("tokenizer", "tokenizer_2"), hidden="penultimate", zero_null=True,
        micro_conditioning=True, pooled="last",
        embedded="sdxl_tiny", train_script="scripts/train_tiny_sdxl.py",
        hint=("download the model on a machine with network, e.g. `huggingface-cli download "
              "stabilityai/stable-diffusion-xl-base-1.0 --local-dir /path/stable-diffusion-xl-"
              "base-1.0 --include '*.json' '*.txt' '*.safetensors'`, copy it here and pass "
              "model.path=/path/stable-diffusion-xl-base-1.0")),
    "sd": Family(
        name="sd", label="SD 1.x/2.x",
        encoders=(("text_encoder", "CLIPTextModel"),), tokenizers=("tokenizer",),
        hidden="last", zero_null=False, micro_conditioning=False,
        hint=("download a StableDiffusionPipeline folder on a machine with network, e.g. "
              "`huggingface-cli download stable-diffusion-v1-5/stable-diffusion-v1-5 "
              "--local-dir /path/sd15 --include '*.json' '*.txt' '*.safetensors'` (or "
              "stabilityai/stable-diffusion-2-1), copy it here and pass model=sd "
              "model.path=/path/sd15")),
    "sd3": Family(
        name="sd3", label="SD3",
        encoders=(("text_encoder", "CLIPTextModelWithProjection"),
                  ("text_encoder_2", "CLIPTextModelWithProjection")),
        tokenizers=("tokenizer", "tokenizer_2"), hidden="penultimate", zero_null=False,
        micro_conditioning=False, pooled="concat",
        denoiser=("transformer", "SD3Transformer2DModel"),
        embedded="sd3_tiny", train_script="scripts/train_tiny_sd3.py",
        hint=("download a StableDiffusion3Pipeline folder on a machine with network, e.g. "
              "`huggingface-cli download stabilityai/stable-diffusion-3-medium-diffusers "
              "--local-dir /path/sd3 --include '*.json' '*.txt' '*.model' '*.safetensors'`, "
              "copy it here and pass model=sd3 model.path=/path/sd3 (text_encoder_3 / T5 is "
              "optional: without it its tokens are zeros, as the pipeline does)")),
}
