"""SDXL likelihood adapter: (image, prompt) -> VAE latent x0, prompt embeddings, PF-ODE drift.

Scores log p(latent | prompt) under the VP probability-flow ODE of the model's own schedule
(schedule.py: t in [0, 1], UNet timestep N t - 1, alpha_bar exact at diffusers' grid):
    dx/dt = -1/2 beta(t) (x - eps_hat(x, t, c) / sigma(t)),  sigma = sqrt(1 - alpha_bar),
i.e. score = -eps_hat / sigma. Classifier-free guidance inside the ODE in diffusers'
convention (dlik/models/guidance.py): `guidance_scale` s > 1 gives eps_u + s (eps_c - eps_u),
s <= 1 the plain conditional model (a true model density log p(x | prompt)); the null prompt
(zero embeddings) is the unconditional one. Prior N(0, I) (alpha_bar(1) = 0.0047 for SDXL:
approximate). Integrate from t_start >= t_min = 1/N, the first trained timestep (see
`check_t_start`).
Columns: bpd is over the 4 h w dims of the *scaled* latent ((z - vae_shift_factor) x
vae_scaling_factor; the runner's `bpd`, also `latent_bpd`); `latent_bits_per_pixel_dim`
divides the same latent log-density by the 3 H W pixel dims, the paper's normalisation (its
"bpd"): no decoder term, so not a pixel likelihood, and it can be negative. The raw VAE
latent's density is latent_bpd - log2(vae_scaling_factor) bits per latent dim.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch

from ..base import Job, Prepared
from ..guidance import check_guidance_scale, check_t_start, guide, guided_rows
from ..schedules import pf_ode_drift, reverse_sde_drift
from .conditioning import PromptEncoder, check_added_embedding, time_ids
from .families import FAMILIES, Family
from .latents import VAE_MODES, VAELatents
from .loader import EMBEDDED_NAMES, files_hash, load_parts, read_zero_null, resolve_path
from .schedule import SDXLNoise
ORIGINAL_SIZES = ("target", "image")
DTYPES = {"float32": torch.float32, "float64": torch.float64, "float16": torch.float16,
          "fp16": torch.float16, "bfloat16": torch.bfloat16, "bf16": torch.bfloat16}
HALF = (torch.float16, torch.bfloat16)


def _dtype(key: str, name: str, device: torch.device,
           cpu_half: tuple[torch.dtype, ...] = ()) -> torch.dtype:
    """Return the torch dtype of a model.<key> name, refusing half precision off CUDA (except
    the cpu_half ones, e.g. bf16 text encoders / VAE, which CPUs run)."""
    if name not in DTYPES:
        raise ValueError(f"{key} must be one of {list(DTYPES)}, got {name!r}")
    dt = DTYPES[name]
    if dt in HALF and device.type != "cuda" and dt not in cpu_half:
        ok = ["float32", "float64", *(str(d)[6:] for d in cpu_half)]
        raise ValueError(f"{key}={name!r} needs a CUDA device (got {device}); on CPU use one of "
                         f"{ok} (float32, the default, as likelihoods need)")
    return dt


def _size_pair(image_size: Any, default: tuple[int, int]) -> tuple[int, int]:
    if image_size is None:
        return default
    if isinstance(image_size, int | float | str):
        return int(image_size), int(image_size)
    vals = [int(v) for v in image_size]
    if len(vals) != 2:
        raise ValueError(f"image_size must be an int or [H, W], got {list(image_size)}")
    return vals[0], vals[1]


class SDXLAdapter:
    """Scores an image's VAE latent under an SDXL-format model given a prompt.

    Job payload: `image_path` (str) or `image` (PIL image / array), `prompt` (str, or None
    for the null prompt = zero embeddings), optional `guidance_scale` (overrides the adapter's).
    """

    family: Family = FAMILIES["sdxl"]
    """Which pipeline family (text encoders, null prompt, micro-conditioning); a subclass per
    family (dlik/models/sd: SD 1.x / 2.x) sets it."""
    capabilities: frozenset[str] = frozenset({"image", "null_condition", "sample", "score"})
    input_kind = "image"
    columns: tuple[str, ...] = ("prompt", "null_prompt", "prompt_tokens", "guidance_scale",
                                "vae_mode", "image_size", "latent_bpd",
                                "latent_bits_per_pixel_dim", "vae_scaling_factor",
                                "vae_shift_factor")

    def __init__(self, path: str | None = "embedded", dtype: str = "float32",
                 device: str | torch.device = "cpu", vae_mode: str = "mean",
                 guidance_scale: float = 0.0, image_size: int | list[int] | None = None,
                 original_size: str = "target", cache_size: int = 64,
                 allow_t_below_trained: bool = False, text_dtype: str = "float32",
                 vae_dtype: str = "float32", negative_prompt: str | None = None) -> None:
        if vae_mode not in VAE_MODES:
            raise ValueError(f"vae_mode must be one of {list(VAE_MODES)}, got {vae_mode!r}")
        if original_size not in ORIGINAL_SIZES:
            raise ValueError(f"original_size must be one of {list(ORIGINAL_SIZES)}, "
                             f"got {original_size!r}")
        self.device = torch.device(device)
        self.dtype = _dtype("dtype", dtype, self.device)
        self.text_dtype = _dtype("text_dtype", text_dtype, self.device, cpu_half=(torch.bfloat16,))
        self.vae_dtype = _dtype("vae_dtype", vae_dtype, self.device, cpu_half=(torch.bfloat16,))
        self.x_dtype = torch.float64 if self.dtype == torch.float64 else torch.float32
        self.vae_mode, self.original_size = vae_mode, original_size
        self.guidance_scale = check_guidance_scale(guidance_scale)
        self.allow_t_below_trained = bool(allow_t_below_trained)
        if negative_prompt is not None and not isinstance(negative_prompt, str):
            raise ValueError(f"negative_prompt must be a str or null, got {negative_prompt!r}")
        self.negative_prompt = negative_prompt
        self.folder = resolve_path(path, self.family)
        sched = self.folder / "scheduler" / "scheduler_config.json"
        if sched.is_file():  # refuse a noise process dlik does not implement before loading
            self._noise(json.loads(sched.read_text()))
        parts = load_parts(self.folder, self.device, self.dtype, self.family,
                           text_dtype=self.text_dtype, vae_dtype=self.vae_dtype)
        self.unet, self.vae = parts.unet, parts.vae
        self.noise = self._noise(parts.scheduler_config)
        self.schedule = getattr(self.noise, "schedule", None)  # "score": VP x_t = a x0 + sigma eps
        self.zero_null = read_zero_null(self.folder, self.family)
        self.text = PromptEncoder(parts.tokenizers, parts.text_encoders, self.device,
                                  family=self.family, zero_null=self.zero_null)
        self._files = parts.files
        self._hash: str | None = None
        self.vae_factor = 2 ** (len(self.vae.config.block_out_channels) - 1)
        sample = self.unet.config.sample_size
        default = _size_pair(sample, (0, 0))
        self.image_size = _size_pair(image_size, (default[0] * self.vae_factor,
                                                  default[1] * self.vae_factor))
        mult = self.vae_factor * self._downsampling()
        if min(self.image_size) <= 0 or any(s % mult for s in self.image_size):
            raise ValueError(f"image_size must be positive multiples of {mult} (VAE x"
                             f"{self.vae_factor}, network downsampling), got "
                             f"{list(self.image_size)}")
        self.latent_shape = (int(self.unet.config.in_channels),
                             self.image_size[0] // self.vae_factor,
                             self.image_size[1] // self.vae_factor)
        if self.family.micro_conditioning:
            check_added_embedding(self.unet, self.text.null()[1].shape[-1])
        name = "embedded_tiny" if str(path) in EMBEDDED_NAMES else Path(self.folder).name
        self.model_id = f"{self.family.name}:{name}"
        self.latents = VAELatents(self.vae, self.image_size, self.latent_shape, vae_mode,
                                  self.device, self.vae_dtype, self.x_dtype, cache_size)

    @staticmethod
    def _noise(scheduler_config: dict[str, Any]):
        """Return the noise process of the model's scheduler config (VP for SD / SDXL)."""
        return SDXLNoise(scheduler_config)

    def _downsampling(self) -> int:
        """Return the factor by which the network shrinks the latent (UNet: 2^(levels-1))."""
        return 2 ** (len(self.unet.config.down_block_types) - 1)

    @property
    def t_min(self) -> float:
        """Return the t of the model's first trained timestep (1/N): the earliest t_start."""
        return self.noise.t_min()

    def check_t_start(self, t_start: float) -> float:
        """Return t_start, raising when it is below t_min (unless allow_t_below_trained)."""
        return check_t_start(t_start, self.t_min, self.allow_t_below_trained, self.model_id)

    def weights_hash(self) -> str:
        """Return a hash of every weight/config/tokenizer file plus the scoring settings (each
        setting that changes a score: the network, text and VAE dtypes, the null prompt, the
        guidance's negative prompt, and a family's own, e.g. SD3's T5 tokens)."""
        if self._hash is None:
            self._hash = files_hash(self.folder, self._files)[:16]
        h, w = self.image_size
        extra = "".join(f":{k}={v}" for k, v in self._hash_settings().items())
        return (f"{self._hash}:vae={self.vae_mode}:gs={self.guidance_scale:g}:"
                f"{str(self.dtype)[6:]}:"
                f"{h}x{w}:orig={self.original_size}{extra}")

    def _hash_settings(self) -> dict[str, str]:
        """Return the score-changing settings beyond the original hash fields; those at their
        defaults are left out, so a default run keeps its hash."""
        out = {}
        if self.text_dtype != torch.float32:
            out["text"] = str(self.text_dtype)[6:]
        if self.vae_dtype != torch.float32:
            out["vaedt"] = str(self.vae_dtype)[6:]
        if self.zero_null != self.family.zero_null:
            out["null"] = "zeros" if self.zero_null else "empty"
        if self.negative_prompt is not None:
            out["neg"] = hashlib.sha256(self.negative_prompt.encode()).hexdigest()[:12]
        return out

    def latent_of(self, payload: dict[str, Any], sample_id: str) -> tuple[torch.Tensor, tuple]:
        """Return (scaled VAE latent [4, h, w], original (H, W) of the image), cached per image."""
        return self.latents.encode(payload, sample_id)

    def decode(self, latent: torch.Tensor):
        """Return the PIL RGB image of a scaled latent [4, h, w] (the VAE decoder's mean)."""
        return self.latents.decode(latent)

    def prompt_cond(self, prompt: str | None, guidance_scale: float,
                    original_hw: tuple[int, int]) -> dict[str, torch.Tensor]:
        """Return the unbatched cond of one prompt (None = the unconditional prompt) at a
        guidance scale."""
        pe, pooled = self.embeddings(prompt)
        orig = self.image_size if self.original_size == "target" else original_hw
        return {"prompt_embeds": pe, "pooled": pooled,
                "time_ids": time_ids(orig, (0, 0), self.image_size).to(self.device),
                "guidance_scale": torch.tensor(check_guidance_scale(guidance_scale),
                                               dtype=torch.float32, device=self.device)}

    def prepare(self, job: Job) -> Prepared:
        """Return the image's latent x0 (or the payload's `latent`), the prompt's cond, the
        N(0, I) prior and the bpd columns."""
        payload = job.payload
        if "prompt" not in payload:
            raise ValueError("job payload needs 'prompt' (str, or None for the null prompt)")
        if "latent" in payload:
            x0 = self.latents.check(payload["latent"])
            orig = tuple(payload.get("original_size") or self.image_size)
        else:
            x0, orig = self.latent_of(payload, job.sample_id)
        return self._prepared(x0, payload, orig)

    def _prepared(self, x0: torch.Tensor, payload: dict[str, Any], orig: tuple[int, int]
                  ) -> Prepared:
        null = bool(payload.get("null_condition"))  # the pmi null rows: zero embeddings
        prompt = None if null else payload["prompt"]
        gs = payload.get("guidance_scale")
        gs = 0.0 if null else check_guidance_scale(self.guidance_scale if gs is None else gs)
        c, h, w = self.latent_shape
        big_h, big_w = self.image_size
        cond = self.prompt_cond(prompt, gs, orig)
        if payload.get("prompt_embeds") is not None and not null:
            cond = self._embedded(cond, payload)
        return Prepared(
            x0=x0, cond=cond,
            columns={"prompt": prompt, "null_prompt": prompt is None,
                     "prompt_tokens": None if prompt is None else self.text.encode(prompt)[2],
                     "guidance_scale": gs, "vae_mode": self.vae_mode,
                     "image_size": f"{big_h}x{big_w}", **self.latents.columns},
            bpd_dims={"latent_bpd": c * h * w, "latent_bits_per_pixel_dim": 3 * big_h * big_w})

    def _embedded(self, cond: dict, payload: dict[str, Any]) -> dict:
        """Return cond with the payload's `prompt_embeds` [L, D] and `pooled_prompt_embeds`
        [P] (the condition-headroom search's conditions: text-encoder outputs no prompt need
        spell), checked against the prompt's own shapes."""
        out = dict(cond)
        for key, slot in (("prompt_embeds", "prompt_embeds"), ("pooled_prompt_embeds", "pooled")):
            if payload.get(key) is None:
                raise ValueError("payload prompt_embeds needs pooled_prompt_embeds too")
            v = torch.as_tensor(payload[key]).to(cond[slot])
            if v.shape != cond[slot].shape or not torch.isfinite(v).all():
                raise ValueError(f"{key} must be finite with shape {tuple(cond[slot].shape)}, "
                                 f"got {tuple(v.shape)}")
            out[slot] = v
        return out

    def embeddings(self, prompt: str | None) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (prompt_embeds [L, D], pooled [P]) of a prompt, None = the unconditional one."""
        if prompt is None:
            return self.text.null()
        return self.text.encode(prompt)[:2]

    def _null_like(self, pe: torch.Tensor, pooled: torch.Tensor, negative: bool = False
                   ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the unconditional prompt's (prompt_embeds, pooled) for each row of pe
        (negative: the guidance's null, the negative prompt when one is set)."""
        use_neg = negative and self.negative_prompt is not None
        npe, npool = self.embeddings(self.negative_prompt if use_neg else None)
        return (npe.to(pe).expand_as(pe).clone(), npool.to(pooled).expand_as(pooled).clone())

    def null_condition(self, cond: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Return cond with the unconditional prompt (SDXL: zero embeddings and pooled
        vector; SD 1.x / 2.x: the encoding of "") and no guidance."""
        cond = self._require_cond(cond)
        pe, pooled = self._null_like(cond["prompt_embeds"], cond["pooled"])
        return {**cond, "prompt_embeds": pe, "pooled": pooled,
                "guidance_scale": torch.zeros_like(cond["guidance_scale"])}

    def _unet(self, x: torch.Tensor, tau: torch.Tensor, pe: torch.Tensor, pooled: torch.Tensor,
              tid: torch.Tensor) -> torch.Tensor:
        dt = self.dtype
        extra = ({"added_cond_kwargs": {"text_embeds": pooled.to(dt), "time_ids": tid.to(dt)}}
                 if self.family.micro_conditioning else {})
        out = self.unet(x.to(dt), tau, encoder_hidden_states=pe.to(dt), return_dict=False,
                        **extra)[0]
        return out.to(x.dtype)

    def eps(self, x: torch.Tensor, t: torch.Tensor, cond: dict[str, torch.Tensor]
            ) -> torch.Tensor:
        """Return the guided epsilon (diffusers' eps_u + s (eps_c - eps_u) on rows with
        guidance_scale s > 1, eps_c on the others): one UNet call, the guided rows' zero-prompt
        copies appended to the batch."""
        _, sqrt_abar, sigma = self._coefs(t, x)

        def to_eps(out: torch.Tensor, rows) -> torch.Tensor:
            return self.noise.to_eps(out, x[rows], sqrt_abar[rows], sigma[rows])

        return self._guided(x, t, cond, to_eps)

    def _guided(self, x: torch.Tensor, t: torch.Tensor, cond: dict[str, torch.Tensor] | None,
                convert) -> torch.Tensor:
        """Return convert(network output, rows) guided in diffusers' convention: one network
        call, the guided rows' null-prompt copies appended to the batch; convert maps raw
        outputs of the given rows (a slice or an index) to the guided quantity (eps, v)."""
        cond = self._require_cond(cond)
        b = x.shape[0]
        tau = self.noise.timestep(t).to(x.device).expand(b)
        pe, pooled, tid = cond["prompt_embeds"], cond["pooled"], cond["time_ids"]
        scale = cond.get("guidance_scale")
        idx = guided_rows(scale)
        if idx is None:
            return convert(self._unet(x, tau, pe, pooled, tid), slice(None))
        null_pe, null_pooled = self._null_like(pe[idx], pooled[idx], negative=True)
        out = self._unet(torch.cat([x, x[idx]]), torch.cat([tau, tau[idx]]),
                         torch.cat([pe, null_pe]), torch.cat([pooled, null_pooled]),
                         torch.cat([tid, tid[idx]]))
        e_c, e_u = convert(out[:b], slice(None)), convert(out[b:], idx)
        return e_c.index_copy(0, idx, guide(e_c[idx], e_u, scale[idx]))

    def _coefs(self, t: torch.Tensor, x: torch.Tensor):
        beta, sqrt_abar, sigma = self.noise.coefficients(t.expand(x.shape[0]))
        shape = (-1, *([1] * (x.dim() - 1)))
        return tuple(v.to(x.device, x.dtype).view(shape) for v in (beta, sqrt_abar, sigma))

    def score(self, x: torch.Tensor, t: torch.Tensor, cond: dict | None) -> torch.Tensor:
        """Return the (guided) score -eps_tilde / sigma(t)."""
        _, _, sigma = self._coefs(t, x)
        return -self.eps(x, t, cond) / sigma

    @staticmethod
    def sde_mu(cond: dict | None) -> float:
        """Return the forward SDE's mean-reversion target: 0 (x_t = a x0 + sigma eps)."""
        return 0.0

    def drift(self, x: torch.Tensor, t: torch.Tensor, cond: dict | None) -> torch.Tensor:
        """Return the PF-ODE drift -1/2 beta(t) (x - eps_tilde / sigma(t)), in x's dtype."""
        beta, _, _ = self._coefs(t, x)
        return pf_ode_drift(beta, x, self.score(x, t, cond))

    def reverse_sde_drift(self, x: torch.Tensor, t: torch.Tensor, cond: dict | None
                          ) -> torch.Tensor:
        """Return the reverse-time SDE drift -1/2 beta x - beta score."""
        beta, _, _ = self._coefs(t, x)
        return reverse_sde_drift(beta, x, self.score(x, t, cond))

    def diffusion(self, t: torch.Tensor) -> torch.Tensor:
        """Return g(t) = sqrt(beta(t)) in t's dtype."""
        return self.noise.coefficients(t)[0].sqrt().to(t.dtype)

    def sample_prior(self, job: Job, generator: torch.Generator | None = None,
                     temperature: float = 1.0) -> Prepared:
        """Return the start of generation for the job's prompt (and guidance scale):
        x1 ~ N(0, I / temperature^2) latents [4, h, w] drawn on the CPU, with the prompt's
        cond."""
        if "prompt" not in job.payload:
            raise ValueError("job payload needs 'prompt' (str, or None for the null prompt)")
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature!r}")
        z = torch.randn(self.latent_shape, generator=generator, dtype=self.x_dtype)
        return self._prepared((z / temperature).to(self.device), job.payload, self.image_size)

    def payload_of(self, x: torch.Tensor, start: Prepared) -> dict[str, Any]:
        """Return the job payload that scores latent x under start's prompt and guidance."""
        return {"latent": x.detach().to(self.x_dtype).clone(), "prompt": start.columns["prompt"],
                "guidance_scale": start.columns["guidance_scale"]}

    @staticmethod
    def _require_cond(cond: dict | None) -> dict:
        need = ("prompt_embeds", "pooled", "time_ids")
        if cond is None or any(k not in cond for k in need):
            raise ValueError(f"SDXL needs cond with {list(need)} (and optional "
                             f"'guidance_scale'); got "
                             f"{None if cond is None else sorted(cond)}")
        return cond
