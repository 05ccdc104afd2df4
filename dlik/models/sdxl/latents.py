"""SDXL's VAE side: an image to its scaled latent (cached per image), the pipeline's latent
scaling and its inverse, and a latent back to an image.

Latents are in the UNet's units: (z - shift) x scaling_factor, or the VAE config's per-channel
latents_mean / latents_std when it has them (as diffusers' pipelines scale them).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import torch

from ...data.images import fit, image_key, load_image, to_tensor
from ...seeding import stable_seed

VAE_MODES = ("mean", "sample")


def _full(z: torch.Tensor) -> torch.Tensor:
    """Return z in float32 when the VAE ran in half precision (else z itself)."""
    return z.float() if z.dtype in (torch.float16, torch.bfloat16) else z


class VAELatents:
    """The VAE of an SDXL model at a fixed image size: encodes images to scaled latents (the
    posterior mean, or with mode 'sample' a draw seeded by the sample id), keeps the last
    `cache_size`, decodes. dtype is the VAE's (its input is cast to it; a half-precision
    latent is scaled in float32)."""

    def __init__(self, vae, image_size: tuple[int, int], latent_shape: tuple[int, int, int],
                 mode: str, device: torch.device, dtype: torch.dtype, x_dtype: torch.dtype,
                 cache_size: int = 64) -> None:
        self.vae, self.image_size, self.latent_shape = vae, image_size, latent_shape
        self.mode, self.device, self.dtype, self.x_dtype = mode, device, dtype, x_dtype
        self._cache: OrderedDict[tuple, tuple[torch.Tensor, tuple]] = OrderedDict()
        self._cache_size = int(cache_size)
        self.columns = {"vae_scaling_factor": float(vae.config.scaling_factor),
                        "vae_shift_factor": vae.config.get("shift_factor")}

    @torch.no_grad()
    def encode(self, payload: dict[str, Any], sample_id: str) -> tuple[torch.Tensor, tuple]:
        """Return (scaled VAE latent [4, h, w], original (H, W) of the image), cached per image."""
        seed = stable_seed("sdxl_vae_sample", sample_id) if self.mode == "sample" else None
        key = (image_key(payload), self.image_size, self.mode, seed)
        if key not in self._cache:
            img = load_image(payload)
            orig = (img.height, img.width)
            x = to_tensor(fit(img, self.image_size))[None].to(self.device, self.dtype)
            dist = self.vae.encode(x).latent_dist
            z = _full(dist.mean)
            if seed is not None:
                noise = torch.randn(z.shape, generator=torch.Generator().manual_seed(seed))
                z = z + _full(dist.std) * noise.to(z.device, z.dtype)
            self._cache[key] = (self.scale(z)[0].to(self.x_dtype), orig)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        self._cache.move_to_end(key)
        return self._cache[key]

    def _stats(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
        """Return the VAE config's per-channel (latents_mean, latents_std) shaped for z, or None."""
        mean, std = self.vae.config.get("latents_mean"), self.vae.config.get("latents_std")
        if mean is None or std is None:
            return None
        return tuple(torch.tensor(v, dtype=z.dtype, device=z.device).view(1, -1, 1, 1)
                     for v in (mean, std))

    def scale(self, z: torch.Tensor) -> torch.Tensor:
        """Return the VAE's raw latent in the UNet's units (the pipeline's scaling)."""
        cfg, stats = self.vae.config, self._stats(z)
        if stats is not None:
            return (z - stats[0]) * cfg.scaling_factor / stats[1]
        if cfg.get("shift_factor") is not None:
            z = z - cfg.shift_factor
        return z * cfg.scaling_factor

    def unscale(self, z: torch.Tensor) -> torch.Tensor:
        """Invert scale: a latent in the UNet's units -> the VAE's raw latent."""
        cfg, stats = self.vae.config, self._stats(z)
        if stats is not None:
            return z * stats[1] / cfg.scaling_factor + stats[0]
        z = z / cfg.scaling_factor
        return z + cfg.shift_factor if cfg.get("shift_factor") is not None else z

    def check(self, z: Any) -> torch.Tensor:
        """Return a given scaled latent on the device, raising unless shaped and finite."""
        z = torch.as_tensor(z)
        if tuple(z.shape) != self.latent_shape:
            raise ValueError(f"payload 'latent' must be shaped {list(self.latent_shape)} (the "
                             f"scaled VAE latent at {self.image_size}), got {list(z.shape)}")
        if not torch.isfinite(z).all():
            raise ValueError("payload 'latent' has non-finite values")
        return z.to(self.device, self.x_dtype)

    @torch.no_grad()
    def decode(self, latent: torch.Tensor):
        """Return the PIL RGB image of a scaled latent [4, h, w] (the VAE decoder's mean)."""
        from PIL import Image

        z = self.unscale(self.check(latent)[None].to(self.dtype))
        img = self.vae.decode(z).sample[0].float().clamp(-1, 1)
        arr = ((img + 1) * 127.5).round().to(torch.uint8).permute(1, 2, 0).cpu().numpy()
        return Image.fromarray(arr, "RGB")
