"""Image degradations with levels (the TTI quality study), as a registry.

Each perturbation maps a PIL RGB image, a level and a seed to a new 8-bit PIL RGB image; the
result depends only on (image, level, seed). Levels are in the units of `unit`:
- gaussian_blur: sigma in pixels (separable Gaussian, reflected borders); 0 = identity.
- additive_noise: std of white Gaussian noise in 8-bit units (0-255), clipped and rounded;
  0 = identity.
- jpeg: JPEG quality 1-100 (PIL/libjpeg, 4:2:0 chroma subsampling); no identity level.
- down_up: downscale by the factor (box filter), then upscale back (bicubic); 1 = identity.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


def _rgb_array(img) -> np.ndarray:
    if getattr(img, "mode", None) != "RGB":
        raise ValueError(f"image perturbations take a PIL RGB image, got {type(img).__name__} "
                         f"mode {getattr(img, 'mode', None)!r}")
    return np.asarray(img, dtype=np.float64)


def _to_image(arr: np.ndarray):
    from PIL import Image

    return Image.fromarray(np.clip(np.round(arr), 0, 255).astype(np.uint8), "RGB")


def _check(name: str, level: float, ok: bool, accepted: str) -> float:
    if not ok:
        raise ValueError(f"{name} level must be {accepted}, got {level!r}")
    return float(level)


def gaussian_blur(img, level: float, seed: int = 0):
    """Return img blurred by a Gaussian of sigma `level` pixels (reflected borders)."""
    from scipy.ndimage import gaussian_filter

    sigma = _check("gaussian_blur", level, float(level) >= 0, "a sigma >= 0 (pixels)")
    arr = _rgb_array(img)
    if sigma == 0:
        return img.copy()
    return _to_image(gaussian_filter(arr, sigma=(sigma, sigma, 0), mode="reflect"))


def additive_noise(img, level: float, seed: int = 0):
    """Return img plus white Gaussian noise of std `level` (8-bit units), seeded, clipped."""
    std = _check("additive_noise", level, float(level) >= 0, "a std >= 0 (8-bit units)")
    arr = _rgb_array(img)
    if std == 0:
        return img.copy()
    noise = np.random.default_rng(int(seed)).standard_normal(arr.shape)
    return _to_image(arr + std * noise)


def jpeg_bytes(img, quality: int) -> bytes:
    """Return the JPEG file of img at quality (PIL/libjpeg, optimize off)."""
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=int(quality))
    return buf.getvalue()


def jpeg(img, level: float, seed: int = 0):
    """Return img after a JPEG round trip at quality `level` (1-100)."""
    from PIL import Image

    q = _check("jpeg", level, float(level) == int(level) and 1 <= level <= 100,
               "an integer quality in [1, 100]")
    _rgb_array(img)
    with Image.open(io.BytesIO(jpeg_bytes(img, int(q)))) as im:
        return im.convert("RGB")


def down_up(img, level: float, seed: int = 0):
    """Return img downscaled by factor `level` (box filter) and upscaled back (bicubic)."""
    from PIL import Image

    f = _check("down_up", level, float(level) >= 1, "a factor >= 1")
    _rgb_array(img)
    if f == 1:
        return img.copy()
    small = (max(1, round(img.width / f)), max(1, round(img.height / f)))
    return img.resize(small, Image.BOX).resize(img.size, Image.BICUBIC)


@dataclass(frozen=True)
class ImagePerturbation:
    """A registered degradation: fn(img, level, seed) -> img, its level unit and the level at
    which it is the identity (None when it has none)."""

    fn: Callable
    unit: str
    identity: float | None


IMAGE_PERTURBATIONS: dict[str, ImagePerturbation] = {
    "gaussian_blur": ImagePerturbation(gaussian_blur, "sigma_px", 0.0),
    "additive_noise": ImagePerturbation(additive_noise, "std_8bit", 0.0),
    "jpeg": ImagePerturbation(jpeg, "quality", None),
    "down_up": ImagePerturbation(down_up, "factor", 1.0),
}


def image_perturbation(name: str) -> ImagePerturbation:
    """Return the registered perturbation `name`, or raise naming the known ones."""
    if name not in IMAGE_PERTURBATIONS:
        raise ValueError(f"image perturbation must be one of {sorted(IMAGE_PERTURBATIONS)}, "
                         f"got {name!r}")
    return IMAGE_PERTURBATIONS[name]


def perturb(img, name: str, level: float, seed: int = 0):
    """Return img under perturbation `name` at `level` (seeded)."""
    return image_perturbation(name).fn(img, level, seed=seed)
