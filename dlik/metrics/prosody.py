"""LogF0 RMSE and mel-cepstral distortion (MCD) from WORLD analysis (pyworld + pysptk),
with 5 ms frames and optional DTW alignment of the two utterances on their mel-cepstra."""

from __future__ import annotations

import numpy as np

FRAME_MS = 5.0
F0_METHODS = ("dio", "harvest")
ALIGNS = ("dtw", "trim")
_DB = 10.0 / np.log(10.0)


def _check(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {list(allowed)}, got {value!r}")


def _as_wave(wave: np.ndarray, sr: int) -> np.ndarray:
    x = np.asarray(wave, np.float64)
    if x.ndim != 1 or len(x) < sr * FRAME_MS / 1000 * 4:
        raise ValueError(f"wave must be 1-D mono with at least 4 frames, got shape {x.shape}")
    return np.ascontiguousarray(x)


def world_f0(wave: np.ndarray, sr: int, f0_method: str = "dio") -> tuple[np.ndarray, np.ndarray]:
    """Return (f0 in Hz per 5 ms frame, 0 = unvoiced; frame times) via dio or harvest,
    refined by stonemask."""
    import pyworld

    _check("f0_method", f0_method, F0_METHODS)
    x = _as_wave(wave, sr)
    f0, t = getattr(pyworld, f0_method)(x, sr, frame_period=FRAME_MS)
    return pyworld.stonemask(x, f0, t, sr), t


def mcep_alpha(sr: int) -> float:
    """Return the all-pass constant approximating the mel scale at sr (0.455 at 22.05 kHz)."""
    import pysptk

    return float(pysptk.util.mcepalpha(sr))


def world_mcep(wave: np.ndarray, sr: int, order: int = 24, f0_method: str = "dio"
               ) -> tuple[np.ndarray, np.ndarray]:
    """Return (mel-cepstra [frames, order + 1] of WORLD's CheapTrick envelope, f0 [frames])."""
    import pysptk
    import pyworld

    x = _as_wave(wave, sr)
    f0, t = world_f0(x, sr, f0_method)
    sp = pyworld.cheaptrick(x, f0, t, sr)
    return pysptk.sp2mc(sp, order=order, alpha=mcep_alpha(sr)), f0


def dtw_path(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return frame index pairs (ia, ib) of the Euclidean-cost DTW path between a and b."""
    import librosa
    from scipy.spatial.distance import cdist

    _, path = librosa.sequence.dtw(C=cdist(a, b))
    path = path[::-1]
    return path[:, 0], path[:, 1]


def _pairs(a: np.ndarray, b: np.ndarray, align: str) -> tuple[np.ndarray, np.ndarray]:
    _check("align", align, ALIGNS)
    if align == "dtw":
        return dtw_path(a, b)
    n = np.arange(min(len(a), len(b)))
    return n, n


def logf0_rmse(ref_wave: np.ndarray, syn_wave: np.ndarray, sr: int, align: str = "dtw",
               f0_method: str = "dio") -> float:
    """Return the RMSE of natural-log F0 over aligned frame pairs voiced in both (NaN if none).

    align='dtw' pairs frames along the DTW path on mel-cepstra c1..c24 (as mcd does);
    'trim' pairs frame i with frame i and drops the longer utterance's tail.
    """
    if align == "dtw":
        ma, fa = world_mcep(ref_wave, sr, f0_method=f0_method)
        mb, fb = world_mcep(syn_wave, sr, f0_method=f0_method)
        ia, ib = _pairs(ma[:, 1:], mb[:, 1:], align)
    else:
        fa, fb = world_f0(ref_wave, sr, f0_method)[0], world_f0(syn_wave, sr, f0_method)[0]
        ia, ib = _pairs(fa, fb, align)
    a, b = fa[ia], fb[ib]
    both = (a > 0) & (b > 0)
    if not both.any():
        return float("nan")
    return float(np.sqrt(np.mean((np.log(a[both]) - np.log(b[both])) ** 2)))


def mcd(ref_wave: np.ndarray, syn_wave: np.ndarray, sr: int, order: int = 24,
        align: str = "dtw") -> float:
    """Return mel-cepstral distortion in dB, (10 / ln 10) * mean over aligned frame pairs of
    sqrt(2 * sum_{d=1..order} (c_d - c'_d)^2); c0 (energy) excluded, all frames (silence
    too) included, alpha from mcep_alpha(sr), frames paired by DTW on c1..c_order or 'trim'."""
    a = world_mcep(ref_wave, sr, order)[0][:, 1:]
    b = world_mcep(syn_wave, sr, order)[0][:, 1:]
    ia, ib = _pairs(a, b, align)
    diff = a[ia] - b[ib]
    return float(_DB * np.mean(np.sqrt(2.0 * np.sum(diff**2, axis=1))))
