"""Simple hand-made attribute classifiers for 64 x 64 clevr_shapes-style images.

Used to check that a text-to-image model's samples show the asked-for attribute (model
card), and as a cheap stand-in for CLIP on the embedded set.

colour: pixels with chroma (max - min of R, G, B) > 40 are the object of a chromatic colour;
  with >= 12 such pixels the colour is the palette hue nearest (circularly) to their median
  hue (red 0, brown 28, yellow 55, green 112, cyan 180, blue 228, purple 277 degrees), else
  "gray".
shape: the object mask is the chroma mask (chromatic) or, for gray, the pixels at least 25
  grey levels darker than the floor level of their row (median of the two leftmost
  columns, which the renderer keeps free); the mask's bounding square around its centroid
  is resized to 16 x 16 and compared by IoU with a square, a disc and an upright
  rectangle of width 0.8 with elliptical ends (cylinder); the best IoU wins.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

HUES = {"red": 0.0, "brown": 28.0, "yellow": 55.0, "green": 112.0, "cyan": 180.0,
        "blue": 228.0, "purple": 277.0}
CHROMA_MIN, MIN_PIXELS, DARK_MIN = 40.0, 12, 25.0
T = 16


def _rgb(image) -> np.ndarray:
    arr = np.asarray(image.convert("RGB") if isinstance(image, Image.Image) else image)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"image must be H x W x 3 RGB, got shape {arr.shape}")
    return arr.astype(np.float32)


def _hue(rgb: np.ndarray) -> np.ndarray:
    """Return the HSV hue in degrees of N x 3 RGB rows."""
    r, g, b = rgb[:, 0], rgb[:, 1], rgb[:, 2]
    mx, mn = rgb.max(1), rgb.min(1)
    d = np.maximum(mx - mn, 1e-6)
    h = np.where(mx == r, (g - b) / d % 6, np.where(mx == g, (b - r) / d + 2, (r - g) / d + 4))
    return h * 60.0


def _chroma_mask(arr: np.ndarray) -> np.ndarray:
    return (arr.max(2) - arr.min(2)) > CHROMA_MIN


def classify_colour(image) -> str:
    """Return the clevr colour name of the object in image (see module docstring)."""
    arr = _rgb(image)
    mask = _chroma_mask(arr)
    if mask.sum() < MIN_PIXELS:
        return "gray"
    hues = _hue(arr[mask])
    # circular median: rotate so the circular mean hue sits at 180, take the median, rotate back
    mean = np.degrees(np.arctan2(np.sin(np.radians(hues)).mean(), np.cos(np.radians(hues)).mean()))
    med = (np.median((hues - mean + 180.0) % 360.0) + mean - 180.0) % 360.0
    dist = {k: min(abs(med - h), 360.0 - abs(med - h)) for k, h in HUES.items()}
    return min(dist, key=dist.get)


def _templates() -> dict[str, np.ndarray]:
    n = T * 8
    out = {}
    for name in ("cube", "sphere", "cylinder"):
        img = Image.new("L", (n, n), 0)
        d = ImageDraw.Draw(img)
        if name == "cube":
            d.rectangle([0, 0, n - 1, n - 1], fill=255)
        elif name == "sphere":
            d.ellipse([0, 0, n - 1, n - 1], fill=255)
        else:
            w, e = 0.4 * n, 0.15 * n  # the renderer's cylinder: rect with elliptical ends
            d.rectangle([n / 2 - w, e, n / 2 + w, n - 1 - e], fill=255)
            d.ellipse([n / 2 - w, 0, n / 2 + w, 2 * e], fill=255)
            d.ellipse([n / 2 - w, n - 1 - 2 * e, n / 2 + w, n - 1], fill=255)
        out[name] = np.asarray(img.resize((T, T), Image.BOX), dtype=np.float32) / 255.0 > 0.5
    return out


TEMPLATES = _templates()


def object_mask(image) -> np.ndarray:
    """Return the boolean object mask of a clevr_shapes-style image."""
    arr = _rgb(image)
    mask = _chroma_mask(arr)
    if mask.sum() >= MIN_PIXELS:
        return mask
    grey = arr.mean(2)
    floor = np.median(grey[:, :2], axis=1, keepdims=True)
    return grey < floor - DARK_MIN


def classify_shape(image) -> str:
    """Return the clevr shape name (cube, sphere, cylinder) of the object in image."""
    mask = object_mask(image)
    if mask.sum() < MIN_PIXELS:
        return "sphere"  # nothing found: an arbitrary fixed answer
    ys, xs = np.nonzero(mask)
    y0, y1 = np.percentile(ys, [1, 99])
    x0, x1 = np.percentile(xs, [1, 99])
    side = max(y1 - y0, x1 - x0) + 1
    cy, cx = (y0 + y1) / 2, (x0 + x1) / 2
    box = (cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)
    crop = Image.fromarray(mask.astype(np.uint8) * 255).crop(box).resize((T, T), Image.BOX)
    m = np.asarray(crop, dtype=np.float32) / 255.0 > 0.5
    iou = {k: (m & t).sum() / max((m | t).sum(), 1) for k, t in TEMPLATES.items()}
    return max(iou, key=iou.get)
