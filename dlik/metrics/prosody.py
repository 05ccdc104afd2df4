"""LogF0 RMSE and mel-cepstral distortion (MCD) with WORLD analysis (pyworld, pysptk)."""

from __future__ import annotations

import numpy as np

FRAME_MS = 5.0


def _f0(wave: np.ndarray, sr: int) -> np.ndarray:
    import pyworld

    x = np.asarray(wave, np.float64)
    f0, t = pyworld.dio(x, sr, frame_period=FRAME_MS)
    return pyworld.stonemask(x, f0, t, sr)


def logf0_rmse(ref_wave: np.ndarray, syn_wave: np.ndarray, sr: int) -> float:
    """Return RMSE of natural-log F0 over frames voiced in both (lengths trimmed to the
    shorter; no time warping). NaN when no frame is voiced in both."""
    a, b = _f0(ref_wave, sr), _f0(syn_wave, sr)
    n = min(len(a), len(b))
    a, b = a[:n], b[:n]
    both = (a > 0) & (b > 0)
    if not both.any():
        return float("nan")
    return float(np.sqrt(np.mean((np.log(a[both]) - np.log(b[both])) ** 2)))


def _mcep(wave: np.ndarray, sr: int, order: int = 24) -> np.ndarray:
    import pysptk
    import pyworld

    x = np.asarray(wave, np.float64)
    f0, t = pyworld.dio(x, sr, frame_period=FRAME_MS)
    f0 = pyworld.stonemask(x, f0, t, sr)
    sp = pyworld.cheaptrick(x, f0, t, sr)
    alpha = pysptk.util.mcepalpha(sr)
    return pysptk.sp2mc(sp, order=order, alpha=alpha)


def _dtw_path(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    import librosa

    cost = np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))
    _, path = librosa.sequence.dtw(C=cost)
    return path[::-1, 0], path[::-1, 1]


def mcd(ref_wave: np.ndarray, syn_wave: np.ndarray, sr: int, order: int = 24) -> float:
    """Return MCD in dB over mel-cepstra c1..c_order (c0 excluded), DTW-aligned."""
    a = _mcep(ref_wave, sr, order)[:, 1:]
    b = _mcep(syn_wave, sr, order)[:, 1:]
    ia, ib = _dtw_path(a, b)
    diff = a[ia] - b[ib]
    return float((10.0 / np.log(10)) * np.mean(np.sqrt(2.0 * (diff**2).sum(1))))
