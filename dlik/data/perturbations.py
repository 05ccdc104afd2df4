"""Audio and mel degradations with levels (the quality study), as a registry of functions."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(int(seed))


def add_at_snr(wave: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """Return wave + noise scaled so that 10 log10(P_wave / P_noise) = snr_db."""
    noise = np.resize(noise, wave.shape)
    p_s = float(np.mean(wave**2))
    p_n = float(np.mean(noise**2)) or 1.0
    return (wave + noise * np.sqrt(p_s / (p_n * 10 ** (snr_db / 10)))).astype(np.float32)


def white_noise(wave, sr, level, seed=0, **_):
    """Return wave with white Gaussian noise at SNR level (dB)."""
    return add_at_snr(wave, _rng(seed).standard_normal(len(wave)), level)


def babble(wave, sr, level, seed=0, others=(), **_):
    """Return wave with babble (sum of other utterances' waves) at SNR level (dB)."""
    if not len(others):
        raise ValueError("babble noise needs other utterances (payload 'others')")
    mix = np.zeros(len(wave), np.float64)
    for o in others:
        o = np.asarray(o, np.float64)
        mix += np.resize(o / (np.sqrt(np.mean(o**2)) + 1e-9), len(wave))
    return add_at_snr(wave, mix, level)


def lowpass(wave, sr, level, **_):
    """Return wave low-passed at level Hz (8th-order Butterworth, zero phase)."""
    from scipy.signal import butter, sosfiltfilt

    if not 0 < level < sr / 2:
        raise ValueError(f"low-pass cut-off must be in (0, {sr / 2}) Hz, got {level}")
    sos = butter(8, level, btype="low", fs=sr, output="sos")
    return sosfiltfilt(sos, wave).astype(np.float32)


def reverb(wave, sr, level, seed=0, **_):
    """Return wave convolved with a synthetic RIR: exponentially decaying noise, RT60 level s."""
    from scipy.signal import fftconvolve

    n = int(sr * level * 1.2)
    t = np.arange(n) / sr
    rir = _rng(seed).standard_normal(n) * np.exp(-6.9 * t / level)
    rir[0] = 1.0
    rir /= np.sqrt(np.sum(rir**2))
    out = fftconvolve(wave, rir)[: len(wave)]
    return (out * np.sqrt(np.mean(wave**2) / (np.mean(out**2) + 1e-12))).astype(np.float32)


def clipping(wave, sr, level, **_):
    """Return wave hard-clipped at level x its peak amplitude."""
    peak = float(np.max(np.abs(wave))) or 1.0
    return np.clip(wave, -level * peak, level * peak).astype(np.float32)


def resampling(wave, sr, level, **_):
    """Return wave resampled down to level Hz and back to sr (band limit + resampler)."""
    import librosa

    low = librosa.resample(wave, orig_sr=sr, target_sr=int(level))
    return librosa.resample(low, orig_sr=int(level), target_sr=sr)[: len(wave)].astype(np.float32)


def time_stretch(wave, sr, level, **_):
    """Return wave time-stretched by rate level (phase vocoder; >1 is faster)."""
    import librosa

    return librosa.effects.time_stretch(wave, rate=float(level)).astype(np.float32)


def mel_blur(mel: torch.Tensor, level: float, kernel: int = 5, **_) -> torch.Tensor:
    """Return the mel blurred by a 2-D Gaussian kernel (size kernel, sigma level)."""
    if level <= 0:
        return mel
    r = torch.arange(kernel, dtype=torch.float64) - (kernel - 1) / 2
    g = torch.exp(-0.5 * (r / level) ** 2)
    k2 = (g[:, None] * g[None, :]) / (g.sum() ** 2)
    x = torch.nn.functional.pad(mel[None, None].double(), [kernel // 2] * 4, mode="replicate")
    return torch.nn.functional.conv2d(x, k2[None, None])[0, 0].to(mel.dtype)


WAVE_PERTURBATIONS: dict[str, Callable] = {
    "white_noise": white_noise, "babble": babble, "lowpass": lowpass, "reverb": reverb,
    "clipping": clipping, "resampling": resampling, "time_stretch": time_stretch,
}
MEL_PERTURBATIONS: dict[str, Callable] = {"mel_blur": mel_blur}
PERTURBATIONS = sorted([*WAVE_PERTURBATIONS, *MEL_PERTURBATIONS])


def check_perturbation(name: str) -> None:
    """Raise ValueError unless name is a known perturbation."""
    if name not in PERTURBATIONS:
        raise ValueError(f"perturbation must be one of {PERTURBATIONS}, got {name!r}")
