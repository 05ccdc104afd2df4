"""Image perturbations of the TTI quality study: exact known properties."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from dlik.data.image_perturbations import (IMAGE_PERTURBATIONS, image_perturbation, jpeg_bytes,
                                           perturb)


def _textured(seed: int = 0, size: int = 32) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8), "RGB")


def _arr(img) -> np.ndarray:
    return np.asarray(img, dtype=np.int64)


@pytest.mark.parametrize("name", ["gaussian_blur", "additive_noise", "down_up"])
def test_identity_level_returns_the_same_pixels(name):
    img = _textured()
    level = image_perturbation(name).identity
    assert level is not None
    assert np.array_equal(_arr(perturb(img, name, level, seed=3)), _arr(img))


def test_jpeg_has_no_identity_level():
    assert image_perturbation("jpeg").identity is None
    assert not np.array_equal(_arr(perturb(_textured(), "jpeg", 100)), _arr(_textured()))


def test_noise_is_seeded_and_exact():
    img = Image.new("RGB", (16, 16), (128, 128, 128))
    a, b = perturb(img, "additive_noise", 8, seed=11), perturb(img, "additive_noise", 8, seed=11)
    assert np.array_equal(_arr(a), _arr(b))
    assert not np.array_equal(_arr(a), _arr(perturb(img, "additive_noise", 8, seed=12)))
    z = np.random.default_rng(11).standard_normal((16, 16, 3))
    expect = np.clip(np.round(128.0 + 8.0 * z), 0, 255)
    assert np.array_equal(_arr(a), expect.astype(np.int64))


def test_noise_clips_at_the_8bit_range():
    out = _arr(perturb(Image.new("RGB", (16, 16), (250, 5, 128)), "additive_noise", 64, seed=0))
    assert out.min() == 0 and out.max() == 255


def test_blur_of_an_impulse_is_the_normalised_gaussian():
    arr = np.zeros((17, 17, 3), np.uint8)
    arr[8, 8] = 255
    out = _arr(perturb(Image.fromarray(arr, "RGB"), "gaussian_blur", 1.0))
    x = np.arange(-4, 5, dtype=np.float64)  # scipy truncates at 4 sigma
    g = np.exp(-0.5 * x**2)
    g /= g.sum()
    expect = np.round(255 * np.outer(g, g))
    assert np.array_equal(out[4:13, 4:13, 0], expect.astype(np.int64))
    assert (out[..., 0] == out[..., 1]).all() and out[0, 0, 0] == 0
    flat = Image.new("RGB", (9, 9), (40, 90, 200))
    assert np.array_equal(_arr(perturb(flat, "gaussian_blur", 3.0)), _arr(flat))


def test_jpeg_file_size_grows_with_quality_and_error_shrinks():
    img = _textured(1, 64)
    qualities = [5, 20, 50, 90]
    sizes = [len(jpeg_bytes(img, q)) for q in qualities]
    assert sizes == sorted(sizes) and len(set(sizes)) == len(sizes)
    err = [np.abs(_arr(perturb(img, "jpeg", q)) - _arr(img)).mean() for q in qualities]
    assert err == sorted(err, reverse=True)
    assert np.array_equal(_arr(perturb(img, "jpeg", 50)), _arr(perturb(img, "jpeg", 50)))


def test_down_up_removes_one_pixel_detail():
    chk = (np.indices((16, 16)).sum(0) % 2 * 255).astype(np.uint8)
    img = Image.fromarray(np.repeat(chk[..., None], 3, axis=2), "RGB")
    out = _arr(perturb(img, "down_up", 2))
    assert out.shape == (16, 16, 3) and len(np.unique(out)) == 1
    assert int(np.unique(out)[0]) in (127, 128)


@pytest.mark.parametrize("name,level,word", [
    ("jpeg", 0, "quality"), ("jpeg", 50.5, "quality"), ("gaussian_blur", -1, "sigma"),
    ("additive_noise", -2, "std"), ("down_up", 0.5, "factor")])
def test_bad_levels_raise_naming_the_value(name, level, word):
    with pytest.raises(ValueError, match=word) as exc:
        perturb(_textured(), name, level)
    assert repr(level) in str(exc.value)


def test_registry_and_errors():
    assert sorted(IMAGE_PERTURBATIONS) == ["additive_noise", "down_up", "gaussian_blur", "jpeg"]
    assert {k: v.unit for k, v in IMAGE_PERTURBATIONS.items()} == {
        "gaussian_blur": "sigma_px", "additive_noise": "std_8bit", "jpeg": "quality",
        "down_up": "factor"}
    with pytest.raises(ValueError, match="must be one of"):
        perturb(_textured(), "sharpen", 1)
    with pytest.raises(ValueError, match="RGB"):
        perturb(Image.new("L", (4, 4)), "gaussian_blur", 1)
