"""SD3-style flow-matching likelihood adapter: a StableDiffusion3Pipeline folder
(SD3Transformer2DModel, FlowMatchEulerDiscreteScheduler, two CLIP text encoders, T5 optional).

The model's path is the rectified flow x_t = (1 - t) x0 + t eps with t = sigma, the noise
level diffusers' scheduler steps through (x_{i+1} = x_i + (sigma_{i+1} - sigma_i) v, the
transformer called at timestep N sigma); its probability-flow ODE is that velocity field,
    dx/dt = v(x, t | c),   prior N(0, I) at t = 1 (exact: x_1 = eps),
and the scheduler's `shift` only places the sampling steps, it does not change the field.
Guidance in diffusers' convention on v (s > 1: v_u + s (v_c - v_u)); the unconditional
prompt is the encoding of "" (the pipeline's default negative prompt). Likelihoods start at
the first trained noise level t_min = shift / (N + shift - 1) (timestep 1 of N, shifted).
Prompt embeddings as StableDiffusion3Pipeline.encode_prompt: both CLIPs' penultimate hidden
states concatenated, zero-padded to the transformer's joint_attention_dim, then the T5
tokens (zeros of max_sequence_length tokens without text_encoder_3); pooled = both CLIPs'
projections concatenated. The VAE latent (16 channels) is shifted and scaled as the
pipeline does (vae_shift_factor, vae_scaling_factor columns). Columns as model=sdxl.
"""

from __future__ import annotations

from typing import Any

import torch

from ..sdxl.adapter import SDXLAdapter
from ..sdxl.families import FAMILIES
from ..sdxl.loader import _weight_files
from ..sdxl.scheduler_kinds import FLOW, check_scheduler


class FlowNoise:
    """diffusers' FlowMatchEulerDiscreteScheduler noise levels: t = sigma in [t_min, 1]."""

    def __init__(self, config: dict[str, Any]) -> None:
        check_scheduler(config, FLOW, "FlowMatchEulerDiscreteScheduler")
        self.n = int(config.get("num_train_timesteps", 1000))
        self.shift = float(config.get("shift", 1.0))
        if not self.shift > 0:
            raise ValueError(f"scheduler shift must be > 0, got {self.shift}")

    def timestep(self, t: torch.Tensor) -> torch.Tensor:
        """Return the transformer's timestep of noise level t (N sigma, as the pipeline)."""
        return (t * self.n).float()

    def t_min(self) -> float:
        """Return the smallest trained noise level: timestep 1 of N after the shift."""
        s = 1.0 / self.n
        return self.shift * s / (1 + (self.shift - 1) * s)


class SD3Adapter(SDXLAdapter):
    """Scores an image's VAE latent under an SD3-format flow-matching model given a prompt
    (payload and columns of SDXLAdapter; `original_size` has no effect)."""

    family = FAMILIES["sd3"]
    capabilities: frozenset[str] = frozenset({"image", "null_condition", "sample"})

    def __init__(self, path: str | None = None, max_sequence_length: int = 256,
                 use_t5: bool = True, **kw) -> None:
        self.max_sequence_length = int(max_sequence_length)
        if self.max_sequence_length < 1:
            raise ValueError(f"max_sequence_length must be >= 1, got {max_sequence_length}")
        super().__init__(path=path, **kw)
        self.joint_dim = int(self.unet.config.joint_attention_dim)
        self.t5 = self._load_t5() if use_t5 and (self.folder / "text_encoder_3").is_dir() else None
        self.use_t5 = bool(use_t5)
        self._t5_cache: dict[str, torch.Tensor] = {}

    def _hash_settings(self) -> dict[str, str]:
        """Return SDXL's settings plus the T5 tokens: whether T5 encodes them (t5=model) or
        they are zeros (t5=zeros: no text_encoder_3 or use_t5=false), and how many."""
        return {**super()._hash_settings(), "t5": "model" if self.t5 is not None else "zeros",
                "msl": str(self.max_sequence_length)}

    @staticmethod
    def _noise(scheduler_config: dict[str, Any]) -> FlowNoise:
        return FlowNoise(scheduler_config)

    def _downsampling(self) -> int:
        return int(self.unet.config.patch_size)

    def _load_t5(self) -> tuple[Any, Any]:
        """Return (T5EncoderModel, tokenizer) of text_encoder_3 / tokenizer_3 (float32)."""
        from transformers import AutoTokenizer, T5EncoderModel

        files, variant = _weight_files(self.folder, "text_encoder_3", self.family)
        self._files += [self.folder / "text_encoder_3" / "config.json", *files]
        enc = T5EncoderModel.from_pretrained(self.folder, subfolder="text_encoder_3",
                                             variant=variant, local_files_only=True,
                                             use_safetensors=True, dtype=self.text_dtype)
        tok = AutoTokenizer.from_pretrained(self.folder, subfolder="tokenizer_3",
                                            local_files_only=True)
        return enc.to(self.device).eval().requires_grad_(False), tok

    @torch.no_grad()
    def _t5_tokens(self, prompt: str) -> torch.Tensor:
        if self.t5 is None:
            return torch.zeros(self.max_sequence_length, self.joint_dim, device=self.device)
        if prompt not in self._t5_cache:
            enc, tok = self.t5
            ids = tok(prompt, padding="max_length", max_length=self.max_sequence_length,
                      truncation=True, add_special_tokens=True, return_tensors="pt").input_ids
            self._t5_cache[prompt] = enc(ids.to(self.device))[0][0].float()
        return self._t5_cache[prompt]

    def embeddings(self, prompt: str | None) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (prompt_embeds [77 + max_sequence_length, joint_dim], pooled) as the
        pipeline builds them; None = the empty prompt "" (the unconditional one)."""
        text = "" if prompt is None else prompt
        clip, pooled, _ = self.text.encode(text)
        clip = torch.nn.functional.pad(clip, (0, self.joint_dim - clip.shape[-1]))
        return torch.cat([clip, self._t5_tokens(text)], dim=0), pooled

    def _unet(self, x: torch.Tensor, tau: torch.Tensor, pe: torch.Tensor, pooled: torch.Tensor,
              tid: torch.Tensor) -> torch.Tensor:
        dt = self.dtype
        out = self.unet(hidden_states=x.to(dt), timestep=tau, encoder_hidden_states=pe.to(dt),
                        pooled_projections=pooled.to(dt), return_dict=False)[0]
        return out.to(x.dtype)

    def drift(self, x: torch.Tensor, t: torch.Tensor, cond: dict | None) -> torch.Tensor:
        """Return the (guided) velocity v(x, t | c): the flow's probability-flow ODE."""
        return self._guided(x, t, cond, lambda out, rows: out)

    # 'sample': the prior N(0, I) at t = 1 (SDXLAdapter.sample_prior) and a reverse SDE with
    # the flow's marginals. On x_t = (1 - t) x0 + t eps the score is -E[eps | x_t] / t with
    # E[eps | x_t] = x + (1 - t) v; for any g(t) the forward SDE dx = (v + g^2/2 score) dt
    # + g dW keeps the ODE's marginals, so its reverse drift (f - g^2 score, as sde_path
    # takes it) is v - g^2/2 score. dlik takes g(t)^2 = 2 t (= d sigma^2 / dt, bounded on
    # [0, 1]), which makes the drift x + (2 - t) v: finite at both ends.
    def diffusion(self, t: torch.Tensor) -> torch.Tensor:
        """Return g(t) = sqrt(2 t) of the reverse SDE."""
        return torch.sqrt(2 * t)

    def reverse_sde_drift(self, x: torch.Tensor, t: torch.Tensor, cond: dict | None
                          ) -> torch.Tensor:
        """Return the reverse SDE drift v - t score = x + (2 - t) v (see diffusion)."""
        tt = t.to(x.dtype).view(-1, *([1] * (x.dim() - 1)))
        return x + (2 - tt) * self.drift(x, t, cond)

    def _vp_only(self, *args, **kw):
        raise ValueError(f"{self.model_id} is a flow-matching model: the VP score and ELBO of "
                         "the 'score' capability are not defined here")

    eps = score = _vp_only
