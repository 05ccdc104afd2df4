"""Deterministic renderers of the embedded image sets (numpy + PIL only), 64 x 64 RGB.

Every random choice of image `index` of set `name` comes from `stable_rng(name, index)`, and
drawing happens at 4x resolution followed by a box downsample, so a render is bitwise
reproducible. `render(name, index, attrs)` returns the image for given attribute values.
"""

from __future__ import annotations

import math
import random

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFilter

from ..seeding import stable_rng

SIZE = 64
SS = 4  # supersampling factor
CLEVR_RGB = {"red": (173, 35, 35), "green": (29, 105, 20), "blue": (42, 75, 215),
             "yellow": (255, 238, 51), "purple": (129, 38, 192), "cyan": (41, 208, 208),
             "brown": (129, 74, 25), "gray": (87, 87, 87)}

Part = tuple  # (kind, geometry, colour role); kinds: poly, ellipse, rect, rrect


def _np_rng(rng: random.Random) -> np.random.Generator:
    return np.random.default_rng(rng.getrandbits(63))


def _to_image(canvas: np.ndarray) -> Image.Image:
    """Return the 64 x 64 RGB image of a float canvas at SS x resolution (box downsample)."""
    big = Image.fromarray(np.clip(np.rint(canvas), 0, 255).astype(np.uint8), "RGB")
    return big.resize((SIZE, SIZE), Image.BOX)


def _add_noise(img: Image.Image, nrng: np.random.Generator, sigma: float) -> Image.Image:
    """Return img plus Gaussian pixel noise of std sigma (grey levels), rounded and clipped."""
    arr = np.asarray(img, dtype=np.float32)
    arr = arr + nrng.normal(0.0, sigma, size=arr.shape).astype(np.float32)
    return Image.fromarray(np.clip(np.rint(arr), 0, 255).astype(np.uint8), "RGB")


def _mask(kind: str, geom, size: int = SIZE * SS) -> np.ndarray:
    """Return the float [0, 1] coverage mask of one primitive on the big canvas."""
    img = Image.new("L", (size, size), 0)
    _draw(ImageDraw.Draw(img), kind, geom, fill=255)
    return np.asarray(img, dtype=np.float32) / 255.0


def _draw(d: ImageDraw.ImageDraw, kind: str, geom, fill=None, outline=None, width=0) -> None:
    if kind == "poly":
        d.polygon(geom, fill=fill, outline=outline, width=width)
    elif kind == "ellipse":
        d.ellipse(geom, fill=fill, outline=outline, width=width)
    elif kind == "rect":
        d.rectangle(geom, fill=fill, outline=outline, width=width)
    elif kind == "rrect":
        box, radius = geom
        d.rounded_rectangle(box, radius=radius, fill=fill, outline=outline, width=width)
    else:
        raise ValueError(f"part kind must be poly, ellipse, rect or rrect, got {kind!r}")


# ---------------------------------------------------------------- clevr_shapes
def render_clevr(index: int, colour: str, shape: str) -> Image.Image:
    """Return a CLEVR-like render: one shaded cube, sphere or cylinder on a grey floor."""
    rng = stable_rng("clevr_shapes", index)
    nrng = _np_rng(rng)
    n = SIZE * SS
    grey = rng.uniform(125.0, 195.0)
    r = rng.uniform(10.0, 19.0) * SS
    cx = rng.uniform(r + 3 * SS, n - r - 3 * SS)
    cy = rng.uniform(r + 3 * SS, n - r - 3 * SS)
    base = np.array(CLEVR_RGB[colour], dtype=np.float32) * rng.uniform(0.9, 1.08)
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32)
    floor = grey + 18.0 * (yy / n - 0.5)
    shadow = _mask("ellipse", [cx - 0.7 * r, cy + 0.2 * r, cx + 1.5 * r, cy + 1.1 * r])
    floor = floor * (1 - 0.35 * shadow)
    u, v = (xx - cx) / r, (yy - cy) / r  # object coordinates, radius 1
    if shape == "cube":
        mask = _mask("rect", [cx - r, cy - r, cx + r, cy + r])
        shade = 1.12 - 0.09 * (u + v)
    elif shape == "sphere":
        mask = _mask("ellipse", [cx - r, cy - r, cx + r, cy + r])
        d2 = (u + 0.35) ** 2 + (v + 0.35) ** 2
        shade = 1.25 - 0.5 * np.sqrt(d2) + 0.45 * np.exp(-d2 / 0.03)
    elif shape == "cylinder":
        w, e = 0.8 * r, 0.3 * r
        top = _mask("ellipse", [cx - w, cy - r, cx + w, cy - r + 2 * e])
        mask = np.maximum(np.maximum(_mask("rect", [cx - w, cy - r + e, cx + w, cy + r - e]),
                                     _mask("ellipse", [cx - w, cy + r - 2 * e, cx + w, cy + r])),
                          top)
        shade = 1.15 - 0.35 * np.abs(u / 0.8 + 0.3) + 0.2 * top
    else:
        raise ValueError(f"shape must be cube, sphere or cylinder, got {shape!r}")
    m = mask[..., None]
    canvas = floor[..., None] * (1 - m) + m * np.clip(base * shade[..., None], 0, 255)
    return _add_noise(_to_image(canvas), nrng, 1.5)


# ---------------------------------------------------------------- pacs_styles
PALETTES = {
    "house": {"main": [(200, 60, 50), (220, 200, 150), (90, 120, 190), (240, 240, 230)],
              "roof": [(120, 50, 30), (70, 70, 80), (160, 40, 40)],
              "dark": [(80, 50, 30)], "glass": [(150, 200, 240)]},
    "tree": {"main": [(40, 140, 50), (70, 160, 40), (30, 110, 60)], "trunk": [(110, 70, 35)]},
    "car": {"main": [(210, 30, 30), (30, 80, 200), (240, 200, 30), (40, 160, 80)],
            "dark": [(30, 30, 30)], "glass": [(170, 210, 240)]},
    "fish": {"main": [(250, 140, 30), (60, 150, 230), (230, 80, 120)], "dark": [(20, 20, 20)]},
    "star": {"main": [(250, 210, 40), (250, 170, 30), (240, 230, 90)]},
    "flower": {"main": [(230, 60, 120), (200, 60, 220), (250, 120, 40), (240, 240, 240)],
               "trunk": [(50, 150, 50)], "centre": [(250, 210, 40)]},
}


def _star(k: float, spin: float) -> list[tuple[float, float]]:
    return [((0.95 if i % 2 == 0 else 0.4) * math.sin(spin + i * math.pi / 5),
             -(0.95 if i % 2 == 0 else 0.4) * math.cos(spin + i * math.pi / 5)) for i in range(10)]


def silhouette(cls: str, rng: random.Random) -> list[Part]:
    """Return the parts of one object class in unit coordinates [-1, 1]^2 (y down)."""
    if cls == "house":
        return [("rect", [-0.7, -0.1, 0.7, 0.9], "main"),
                ("poly", [(-0.9, -0.1), (0.0, -0.85), (0.9, -0.1)], "roof"),
                ("rect", [-0.15, 0.4, 0.15, 0.9], "dark"),
                ("rect", [0.3, 0.1, 0.55, 0.35], "glass")]
    if cls == "tree":
        return [("rect", [-0.14, 0.25, 0.14, 0.95], "trunk"),
                ("ellipse", [-0.65, -0.95, 0.65, 0.4], "main")]
    if cls == "car":
        return [("poly", [(-0.5, -0.05), (-0.3, -0.5), (0.35, -0.5), (0.6, -0.05)], "main"),
                ("rrect", ([-0.95, -0.1, 0.95, 0.45], 0.15), "main"),
                ("poly", [(-0.38, -0.1), (-0.24, -0.4), (0.28, -0.4), (0.45, -0.1)], "glass"),
                ("ellipse", [-0.78, 0.25, -0.32, 0.7], "dark"),
                ("ellipse", [0.32, 0.25, 0.78, 0.7], "dark")]
    if cls == "fish":
        return [("poly", [(0.4, 0.0), (0.95, -0.45), (0.95, 0.45)], "main"),
                ("ellipse", [-0.85, -0.42, 0.55, 0.42], "main"),
                ("ellipse", [-0.6, -0.18, -0.44, -0.02], "dark")]
    if cls == "star":
        return [("poly", _star(0.4, rng.uniform(-0.3, 0.3)), "main")]
    if cls == "flower":
        parts: list[Part] = [("rect", [-0.05, -0.2, 0.05, 0.95], "trunk")]
        for i in range(6):
            a = i * math.pi / 3
            x, y = 0.32 * math.cos(a), -0.35 + 0.32 * math.sin(a)
            parts.append(("ellipse", [x - 0.24, y - 0.24, x + 0.24, y + 0.24], "main"))
        return parts + [("ellipse", [-0.18, -0.53, 0.18, -0.17], "centre")]
    raise ValueError(f"class must be one of {sorted(PALETTES)}, got {cls!r}")


def _place(parts: list[Part], cx: float, cy: float, s: float, flip: bool) -> list[Part]:
    """Return parts mapped from unit coordinates to big-canvas pixels."""
    def pt(x: float, y: float) -> tuple[float, float]:
        return (cx + s * (-x if flip else x), cy + s * y)

    def box(b: list[float]) -> list[float]:
        (x0, y0), (x1, y1) = pt(b[0], b[1]), pt(b[2], b[3])
        return [min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)]

    out = []
    for kind, geom, role in parts:
        if kind == "poly":
            out.append((kind, [pt(x, y) for x, y in geom], role))
        elif kind == "rrect":
            out.append((kind, (box(geom[0]), geom[1] * s), role))
        else:
            out.append((kind, box(geom), role))
    return out


def _jitter(rng: random.Random, rgb, amount: float) -> np.ndarray:
    return np.clip(np.array(rgb, dtype=np.float64)
                   + [rng.uniform(-amount, amount) for _ in range(3)], 0, 255)


def _strokes(rng: random.Random, img: Image.Image, mask: Image.Image | None, rgb, n: int,
             amount: float) -> None:
    """Paint n short jittered-colour brush strokes onto img, inside mask (painting style)."""
    size = img.size[0]
    layer = Image.new("RGB", (size, size))
    cover = Image.new("L", (size, size), 0)
    ld, cd = ImageDraw.Draw(layer), ImageDraw.Draw(cover)
    for _ in range(n):
        x, y = rng.uniform(0, size), rng.uniform(0, size)
        a, length = rng.uniform(0, math.pi), rng.uniform(0.04, 0.12) * size
        end = (x + length * math.cos(a), y + length * math.sin(a))
        w = int(rng.uniform(0.015, 0.04) * size)
        ld.line([(x, y), end], fill=tuple(int(c) for c in _jitter(rng, rgb, amount)), width=w)
        cd.line([(x, y), end], fill=255, width=w)
    img.paste(layer, (0, 0), cover if mask is None else ImageChops.multiply(cover, mask))


def _part_mask(kind: str, geom, n: int) -> Image.Image:
    img = Image.new("L", (n, n), 0)
    _draw(ImageDraw.Draw(img), kind, geom, fill=255)
    return img


def render_pacs(index: int, style: str, cls: str) -> Image.Image:
    """Return a PACS-like render: one object class drawn as a photo, painting, cartoon or sketch."""
    if style not in ("photo", "painting", "cartoon", "sketch"):
        raise ValueError(f"style must be photo, painting, cartoon or sketch, got {style!r}")
    rng = stable_rng("pacs_styles", index)
    nrng = _np_rng(rng)
    n = SIZE * SS
    s = rng.uniform(17.0, 25.0) * SS
    cx, cy = rng.uniform(s + 2 * SS, n - s - 2 * SS), rng.uniform(s + 2 * SS, n - s - 2 * SS)
    parts = _place(silhouette(cls, rng), cx, cy, s, flip=rng.random() < 0.5)
    colours = {role: _jitter(rng, rng.choice(opts), 20) for role, opts in PALETTES[cls].items()}
    if style == "sketch":
        bg = Image.new("RGB", (n, n), (int(rng.uniform(238, 255)),) * 3)
    elif style == "cartoon":
        bg = Image.new("RGB", (n, n), tuple(int(c) for c in _jitter(rng, rng.choice(
            [(250, 235, 180), (190, 230, 250), (210, 245, 200), (250, 210, 220)]), 10)))
    else:
        top, bottom = _jitter(rng, (150, 180, 210), 40), _jitter(rng, (120, 130, 100), 40)
        ramp = np.linspace(0.0, 1.0, n, dtype=np.float32)[:, None, None]
        grad = np.broadcast_to(top * (1 - ramp) + bottom * ramp, (n, n, 3))
        bg = Image.fromarray(np.rint(grad).astype(np.uint8), "RGB")
        if style == "painting":
            _strokes(rng, bg, None, (top + bottom) / 2, 160, 60)
    albedo = bg.copy()
    cover = Image.new("L", (n, n), 0)
    line = Image.new("L", (n, n), 0)
    ad, cd, ld = ImageDraw.Draw(albedo), ImageDraw.Draw(cover), ImageDraw.Draw(line)
    for kind, geom, role in parts:
        rgb = tuple(int(c) for c in colours[role])
        if style != "sketch":
            _draw(ad, kind, geom, fill=rgb)
            _draw(cd, kind, geom, fill=255)
        if style == "painting":
            _strokes(rng, albedo, _part_mask(kind, geom, n), colours[role], 60, 45)
        elif style in ("cartoon", "sketch"):
            width = 2.2 if style == "cartoon" else rng.uniform(0.9, 1.4)
            _draw(ld, kind, geom, outline=255, width=int(width * SS))
    img = np.asarray(albedo, dtype=np.float32)
    if style == "photo":
        yy, xx = np.mgrid[0:n, 0:n].astype(np.float32)
        shade = 1.15 - 0.35 * ((xx - cx) + (yy - cy)) / (2 * s)
        m = np.asarray(cover, dtype=np.float32)[..., None] / 255.0
        img = np.clip(img * (1 + m * (shade[..., None] - 1)), 0, 255)
    ink = np.asarray(line, dtype=np.float32)[..., None] / 255.0
    img = img * (1 - ink) + 20.0 * ink
    out = _to_image(img)
    if style == "painting":
        out = out.filter(ImageFilter.GaussianBlur(radius=0.6))
    if style == "photo":
        out = _add_noise(out, nrng, 4.0)
    return out


RENDERERS = {
    "clevr_shapes": lambda i, a: render_clevr(i, a["colour"], a["shape"]),
    "pacs_styles": lambda i, a: render_pacs(i, a["style"], a["class"]),
}


def render(name: str, index: int, attrs: dict[str, str]) -> Image.Image:
    """Return image index of set name rendered with the given attribute values."""
    if name not in RENDERERS:
        raise ValueError(f"image set must be one of {sorted(RENDERERS)}, got {name!r}")
    return RENDERERS[name](index, attrs)
