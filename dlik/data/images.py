"""Images for the image models (SDXL): read, convert to RGB, resize the shorter side, centre-crop,
scale to [-1, 1].

Conversion: any PIL mode becomes RGB with `Image.convert("RGB")`, as diffusers' load_image
does: grayscale is replicated to three channels (16-bit grayscale, modes I;16 / I, is first
scaled to 8 bits, which PIL's convert would clip), palette images are expanded, and an alpha
channel (RGBA, LA) is dropped (the stored colour is kept, not composited).
Arrays: uint8 [H, W], [H, W, 1|3|4], or float in [0, 1] (rounded to 8 bits, like a file).
Resizing is Lanczos (diffusers' VaeImageProcessor default) so that the image covers the
target size, then the centre is cropped.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import torch


def image_key(payload: dict[str, Any]) -> str:
    """Return a cache key for a payload's image: its path, or a sha256 of its pixels."""
    if payload.get("image_path") is not None:
        return f"path:{Path(payload['image_path']).expanduser()}"
    if payload.get("image") is None:
        raise ValueError("job payload needs 'image_path' (str) or 'image' (PIL image or array)")
    img = payload["image"]
    arr = np.asarray(img)
    mode = getattr(img, "mode", str(arr.dtype))
    digest = hashlib.sha256(np.ascontiguousarray(arr).tobytes()).hexdigest()[:32]
    return f"pixels:{mode}:{arr.shape}:{digest}"


def _from_array(arr: np.ndarray):
    from PIL import Image

    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if not (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] in (3, 4))):
        raise ValueError(f"image array must be [H, W] or [H, W, 1|3|4], got {arr.shape}")
    if arr.dtype != np.uint8:
        if not np.issubdtype(arr.dtype, np.floating):
            raise ValueError(f"image array must be uint8 or float in [0, 1], got {arr.dtype}")
        if not np.isfinite(arr).all() or arr.min() < 0 or arr.max() > 1:
            raise ValueError("float image array must be finite and in [0, 1]")
        arr = np.round(arr * 255).astype(np.uint8)
    return Image.fromarray(arr)


def to_rgb(img):
    """Return a PIL image in RGB (16-bit grayscale scaled to 8 bits first)."""
    if img.mode == "I" or img.mode.startswith("I;16"):
        img = img.convert("I").point(lambda v: v / 256).convert("L")
    return img.convert("RGB")


def load_image(payload: dict[str, Any]):
    """Return the payload's image ('image_path' file or 'image' PIL/array) as a PIL RGB image."""
    from PIL import Image, UnidentifiedImageError

    if payload.get("image_path") is not None:
        path = Path(payload["image_path"]).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"image file {path} does not exist")
        try:
            with Image.open(path) as im:
                im.load()
                return to_rgb(im)
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
            raise ValueError(f"cannot read image file {path} ({type(exc).__name__}: {exc}); "
                             "expected an image PIL can open (PNG, JPEG, WebP, ...)") from exc
    img = payload.get("image")
    if img is None:
        raise ValueError("job payload needs 'image_path' (str) or 'image' (PIL image or array)")
    if isinstance(img, Image.Image):
        return to_rgb(img)
    return _from_array(np.asarray(img)).convert("RGB")


MAX_UPSCALE = 16  # 64-px image sets at SDXL 1024; a smaller image is mostly interpolation


def fit(img, size: tuple[int, int]):
    """Return img resized (Lanczos) so it covers size = (H, W), then centre-cropped to it;
    raise when that means upscaling by more than MAX_UPSCALE."""
    from PIL import Image

    h, w = size
    scale = max(h / img.height, w / img.width)
    if scale > MAX_UPSCALE:
        raise ValueError(f"image is {img.height}x{img.width}: scoring it at {h}x{w} would "
                         f"upscale it {scale:.3g}x (at most {MAX_UPSCALE}x); pass a larger "
                         "image or a smaller model.image_size")
    nh, nw = max(h, round(img.height * scale)), max(w, round(img.width * scale))
    if (nh, nw) != (img.height, img.width):
        img = img.resize((nw, nh), Image.LANCZOS)
    top, left = (nh - h) // 2, (nw - w) // 2
    return img.crop((left, top, left + w, top + h))


def to_tensor(img) -> torch.Tensor:
    """Return a PIL RGB image as a float32 [3, H, W] tensor in [-1, 1]."""
    arr = np.asarray(img, dtype=np.float32) / 127.5 - 1.0
    return torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))
